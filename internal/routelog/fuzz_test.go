package routelog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendJSONString: any bytes become a JSON string that decodes to the same text (with
// invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\r", "\x00\x1f", "é ü 漢字 🙂", "\u2028\u2029", "\xff\xfe bad"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := appendJSONString(nil, in)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q -> %s is not a JSON string: %v", in, out, err)
		}
		want := strings.ToValidUTF8(string(in), "\ufffd")
		if !utf8.Valid(in) {
			// encoding/json replaces each invalid byte; ToValidUTF8 collapses runs. Compare via json.
			b, _ := json.Marshal(string(in))
			json.Unmarshal(b, &want)
		}
		if got != want {
			t.Fatalf("%q round-tripped to %q, want %q", in, got, want)
		}
	})
}

// FuzzAppendCSVCell: a row of cells reads back, through encoding/csv, as the defused cells.
func FuzzAppendCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "a,b", `say "hi"`, "multi\nline", " leading", "=1+2", "-5", "@x", "+1", "\tx", "\rx", `{"a": "b,c"}`} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			t.Skip() // encoding/csv reads runes
		}
		var line []byte
		line = appendCSVCell(line, []byte(a))
		line = append(line, ',')
		line = appendCSVCell(line, []byte(b))
		line = append(line, '\n')
		r := csv.NewReader(bytes.NewReader(line))
		r.LazyQuotes = false
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("%q,%q -> %q: %v", a, b, line, err)
		}
		// encoding/csv drops a \r before \n inside quotes; that is its reading, not our writing.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		if len(rec) != 2 || norm(rec[0]) != norm(SafeCell(a)) || norm(rec[1]) != norm(SafeCell(b)) {
			t.Fatalf("%q,%q -> %q -> %q", a, b, line, rec)
		}
	})
}
