// Package downloads counts the downloads of each project per day: from
// the server's own file serving (Counter, which counts in memory and
// writes the counts in batches), and from the access logs of a proxy or a
// CDN in front of the index (Import, which counts each log line once
// however often a log is imported). Both follow a Policy, which makes
// inflating the counts cost client addresses: at most so many downloads
// per client address, project and day, and only the user agents of
// installers.
package downloads
