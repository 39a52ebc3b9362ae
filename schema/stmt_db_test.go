package schema_test

import (
	"context"
	"testing"

	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

// TestArraysRoundTripThroughPostgres sends awkward strings and bytes as array parameters of a
// prepared statement and reads them back.
func TestArraysRoundTripThroughPostgres(t *testing.T) {
	db := testenv.DB(t)
	in := []string{"plain", `q"uote`, `back\slash`, "", "NULL", "{brace},comma", "ünïcödé 漢字", "new\nline"}
	st := schema.NewStmt(db, "SELECT v, b FROM unnest($1::text[], $2::bytea[]) AS t(v, b)")
	bs := make([][]byte, len(in))
	for i, s := range in {
		bs[i] = []byte(s + "\x00\xff")
	}
	rows, err := st.QueryContext(context.Background(), schema.TextArray(in), schema.ByteaArray(bs))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var v string
		var b []byte
		if err := rows.Scan(&v, &b); err != nil {
			t.Fatal(err)
		}
		if v != in[i] || string(b) != string(bs[i]) {
			t.Fatalf("element %d: %q %q, want %q %q", i, v, b, in[i], bs[i])
		}
		i++
	}
	if i != len(in) {
		t.Fatalf("%d rows", i)
	}
}
