package store

// SetSearchWindow sets how many names SearchProjects walks in order on
// SQLite before it reads the trigram index, so that a test reaches past
// the window with a few hundred projects rather than 10,000.
func (s *Store) SetSearchWindow(n int) { s.searchWindow = n }
