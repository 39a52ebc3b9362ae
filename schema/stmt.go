package schema

import (
	"context"
	"database/sql"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	"github.com/uptrace/bun"
)

// Stmt is a statement prepared on first use. Hot paths use it where Postgres would otherwise
// parse and plan the same text on every call, which under load costs more than running it.
// Arguments are Postgres positional parameters ($1, $2, ...), not bun's ? placeholders.
type Stmt struct {
	db    *sql.DB
	query string
	once  sync.Once
	stmt  *sql.Stmt
	err   error
}

// NewStmt returns a statement of query on db, prepared when first used.
func NewStmt(db *bun.DB, query string) *Stmt { return &Stmt{db: db.DB, query: query} }

func (s *Stmt) prepared() (*sql.Stmt, error) {
	s.once.Do(func() { s.stmt, s.err = s.db.PrepareContext(context.Background(), s.query) })
	return s.stmt, s.err
}

// QueryContext runs the statement and returns its rows.
func (s *Stmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	st, err := s.prepared()
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecContext runs the statement.
func (s *Stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	st, err := s.prepared()
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// TextArray is a Postgres array literal of strings, for a $n::text[] parameter.
func TextArray(vs []string) string {
	size := 2
	for _, v := range vs {
		size += len(v) + 3
	}
	b := make([]byte, 0, size+size/16)
	b = append(b, '{')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(v); j++ {
			if c := v[j]; c == '"' || c == '\\' {
				b = append(b, '\\', c)
			} else {
				b = append(b, c)
			}
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// ByteaArray is a Postgres array literal of byte strings, for a $n::bytea[] parameter.
func ByteaArray(vs [][]byte) string {
	hexes := make([]string, len(vs))
	for i, v := range vs {
		hexes[i] = `\x` + hex.EncodeToString(v)
	}
	return TextArray(hexes)
}

// Int64Array is a Postgres array literal of integers, for a $n::bigint[] parameter.
func Int64Array(vs []int64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return "{" + strings.Join(parts, ",") + "}"
}
