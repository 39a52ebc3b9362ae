package schema

import "testing"

func TestArrayLiterals(t *testing.T) {
	if got := TextArray([]string{"a", `q"uote`, `back\slash`, "", "comma,brace}"}); got != `{"a","q\"uote","back\\slash","","comma,brace}"}` {
		t.Fatalf("text: %s", got)
	}
	if got := ByteaArray([][]byte{{0x0a, 0xff}, {}}); got != `{"\\x0aff","\\x"}` {
		t.Fatalf("bytea: %s", got)
	}
	if got := Int64Array([]int64{-3, 0, 7}); got != "{-3,0,7}" {
		t.Fatalf("int: %s", got)
	}
	if TextArray(nil) != "{}" {
		t.Fatal("empty")
	}
}
