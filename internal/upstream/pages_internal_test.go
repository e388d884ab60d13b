package upstream

import "testing"

// TestPageCache: a page read before its name was invalidated is not kept,
// other names' are; the bounds evict the least recently used.
func TestPageCache(t *testing.T) {
	c := newPageCache(2, 1000)
	before := c.generation()
	c.remove("a")
	c.put(&pageEntry{name: "a", gen: before, cost: 10})
	c.put(&pageEntry{name: "b", gen: before, cost: 10})
	if c.get("a") != nil || c.get("b") == nil {
		t.Fatalf("a kept %v, b kept %v", c.get("a") != nil, c.get("b") != nil)
	}
	c.put(&pageEntry{name: "a", gen: c.generation(), cost: 10})
	c.get("b")
	c.put(&pageEntry{name: "c", gen: c.generation(), cost: 10})
	if c.get("a") != nil || c.get("b") == nil || c.get("c") == nil {
		t.Fatal("the least recently used entry was not evicted")
	}
	c.put(&pageEntry{name: "d", gen: c.generation(), cost: 995})
	if c.get("d") == nil || c.get("b") != nil || c.get("c") != nil || c.bytes != 995 {
		t.Fatalf("bytes bound: %d bytes", c.bytes)
	}
	old := c.generation()
	c.clear()
	c.put(&pageEntry{name: "e", gen: old, cost: 1})
	if c.get("e") != nil || c.get("d") != nil {
		t.Fatal("kept across a clear")
	}
	for i := range maxRemoved + 1 { // the removals' memory is bounded
		c.remove(string(rune('a'+i%26)) + string(rune(i)))
	}
	if len(c.removed) > maxRemoved {
		t.Fatalf("%d removals remembered", len(c.removed))
	}
}
