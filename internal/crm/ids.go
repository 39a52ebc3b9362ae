package crm

import (
	"crypto/rand"
	"strings"
)

// Key prefixes of the objects, as in Salesforce.
var keyPrefix = map[string]string{
	Account:     "001",
	Contact:     "003",
	Lead:        "00Q",
	Opportunity: "006",
	User:        "005",
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns a new 18-character Salesforce-style id for object: its key prefix, 12 random
// base62 characters and the 3-character case-safe suffix.
func NewID(object string) string {
	b := make([]byte, 0, 18)
	b = append(b, keyPrefix[object]...)
	var r [24]byte
	rand.Read(r[:])
	for i := 0; len(b) < 15; i++ {
		if r[i%len(r)] < 248 { // 248 = 4×62: no modulo bias
			b = append(b, base62[r[i%len(r)]%62])
		} else {
			rand.Read(r[:])
		}
	}
	return string(b) + suffix(string(b))
}

// suffix is Salesforce's case-safe checksum: for each 5-character chunk of the 15-character
// id, a letter whose index has bit i set when character i is upper case. It makes 18-character
// ids unique even where case is ignored.
func suffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		n := 0
		for i := 0; i < 5; i++ {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = alphabet[n]
	}
	return string(out[:])
}

// To18 turns a 15- or 18-character id into its 18-character form; ok is false for anything
// that is not a well-formed id (an 18-character id must carry its own suffix).
func To18(id string) (string, bool) {
	for _, c := range id {
		if !strings.ContainsRune(base62, c) {
			return "", false
		}
	}
	switch len(id) {
	case 15:
		return id + suffix(id), true
	case 18:
		return id, strings.EqualFold(id[15:], suffix(id[:15]))
	}
	return "", false
}

// ObjectOf is the object an id's key prefix names, or "".
func ObjectOf(id string) string {
	if len(id) < 3 {
		return ""
	}
	for obj, p := range keyPrefix {
		if id[:3] == p {
			return obj
		}
	}
	return ""
}
