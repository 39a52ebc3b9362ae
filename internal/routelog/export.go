package routelog

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
)

// Export limits, from the seed.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
	LargeExport  = 5000 // exports over this many records have their own, lower rate limit
	MaxRangeDays = 1096 // no org keeps logs longer than 1095 days
)

// CSVHeader is the seed's column order.
var CSVHeader = []string{"timestamp", "object", "object_id", "action", "pool", "assigned_to",
	"prev_owner", "sequence", "reason", "request_id", "idempotency_key", "diff"}

// Filter selects entries of one org: From inclusive, To exclusive, optional equality filters.
type Filter struct {
	From, To    time.Time
	Pool        string
	Object      string
	Action      string
	Limit       int
	IncludeDiff bool
}

// Validate checks a filter; errors name the query parameter at fault.
func (f *Filter) Validate() error {
	switch {
	case f.From.IsZero():
		return apperr.Field("query.from", "is required (ISO 8601, e.g. 2025-09-18T00:00:00Z); from_date is accepted too")
	case f.To.IsZero():
		return apperr.Field("query.to", "is required (ISO 8601, e.g. 2025-09-19T00:00:00Z); to_date is accepted too")
	case !f.To.After(f.From):
		return apperr.Field("query.to", "must be after from")
	case f.Object != "" && !contains(Objects, f.Object):
		return apperr.Field("query.object", "must be one of Lead, Contact, Account, Opportunity")
	case f.Action != "" && !contains(Actions, f.Action):
		return apperr.Field("query.action", "must be one of assign, convert, merge, enrich")
	case f.Limit < 1 || f.Limit > MaxLimit:
		return apperr.Field("query.limit", "must be between 1 and %d", MaxLimit)
	}
	return nil
}

// query builds the export SELECT. Columns come out as text in export order so that the
// encoders copy bytes instead of parsing and re-formatting values.
func query(db bun.IDB, orgID uuid.UUID, f Filter) *bun.SelectQuery {
	diff := "NULL::text"
	if f.IncludeDiff {
		diff = "diff::text"
	}
	q := db.NewSelect().TableExpr("route_logs").
		ColumnExpr(`("timestamp" AT TIME ZONE 'UTC')::text, object, object_id, action, pool, assigned_to, prev_owner, sequence, reason, request_id, idempotency_key, `+diff).
		Where("org_id = ?", orgID).
		Where(`"timestamp" >= ? AND "timestamp" < ?`, f.From, f.To)
	if f.Pool != "" {
		q = q.Where("pool = ?", f.Pool)
	}
	if f.Object != "" {
		q = q.Where("object = ?", f.Object)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	return q.OrderExpr(`"timestamp", id`).Limit(f.Limit)
}

// row is one exported row; optional text columns are nil when NULL. ts is Postgres' text of
// the UTC timestamp, "2025-09-18 16:12:00[.fraction]"; see appendTimestamp.
type row struct {
	ts                                 []byte
	object, objectID, action           []byte
	pool, assignedTo, prevOwner        []byte
	sequence                           sql.NullInt64
	reason, requestID, idemKey, diff   []byte
	poolOK, assignedOK, prevOK, diffOK bool
}

func (r *row) scan(rows *sql.Rows) error {
	var pool, assigned, prev, diff sql.RawBytes
	err := rows.Scan((*sql.RawBytes)(&r.ts), (*sql.RawBytes)(&r.object), (*sql.RawBytes)(&r.objectID), (*sql.RawBytes)(&r.action),
		&pool, &assigned, &prev, &r.sequence,
		(*sql.RawBytes)(&r.reason), (*sql.RawBytes)(&r.requestID), (*sql.RawBytes)(&r.idemKey), &diff)
	r.pool, r.poolOK = pool, pool != nil
	r.assignedTo, r.assignedOK = assigned, assigned != nil
	r.prevOwner, r.prevOK = prev, prev != nil
	r.diff, r.diffOK = diff, diff != nil
	return err
}

// each runs the export query and calls fn per row. The row's bytes are valid until fn returns.
func each(ctx context.Context, db bun.IDB, orgID uuid.UUID, f Filter, fn func(*row) error) error {
	rows, err := query(db, orgID, f).Rows(ctx)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r row
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// List returns the entries that match f, for callers that want values rather than a stream.
func List(ctx context.Context, db bun.IDB, orgID uuid.UUID, f Filter) ([]Entry, error) {
	out := []Entry{}
	err := each(ctx, db, orgID, f, func(r *row) error {
		ts, err := time.Parse(time.RFC3339Nano, string(appendTimestamp(nil, r.ts)))
		if err != nil {
			return err
		}
		e := Entry{Timestamp: ts, Object: string(r.object), ObjectID: string(r.objectID),
			Action: string(r.action), Reason: string(r.reason), RequestID: string(r.requestID),
			IdempotencyKey: string(r.idemKey)}
		if r.poolOK {
			e.Pool = ptr(string(r.pool))
		}
		if r.assignedOK {
			e.AssignedTo = ptr(string(r.assignedTo))
		}
		if r.prevOK {
			e.PrevOwner = ptr(string(r.prevOwner))
		}
		if r.sequence.Valid {
			e.Sequence = ptr(r.sequence.Int64)
		}
		if r.diffOK {
			e.Diff = append([]byte(nil), r.diff...)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func ptr[T any](v T) *T { return &v }

// ExportJSON writes the matching entries as one bare JSON array, streaming row by row.
func ExportJSON(ctx context.Context, db bun.IDB, orgID uuid.UUID, f Filter, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 1024)
	buf = append(buf, '[')
	first := true
	err := each(ctx, db, orgID, f, func(r *row) error {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendEntryJSON(buf, r)
		if len(buf) > 32<<10 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	buf = append(buf, ']')
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

func appendEntryJSON(b []byte, r *row) []byte {
	b = append(b, `{"timestamp":"`...)
	b = appendTimestamp(b, r.ts)
	b = append(b, `","object":`...)
	b = appendJSONString(b, r.object)
	b = append(b, `,"object_id":`...)
	b = appendJSONString(b, r.objectID)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, r.action)
	if r.poolOK {
		b = append(b, `,"pool":`...)
		b = appendJSONString(b, r.pool)
	}
	if r.assignedOK {
		b = append(b, `,"assigned_to":`...)
		b = appendJSONString(b, r.assignedTo)
	}
	if r.prevOK {
		b = append(b, `,"prev_owner":`...)
		b = appendJSONString(b, r.prevOwner)
	}
	if r.sequence.Valid {
		b = append(b, `,"sequence":`...)
		b = strconv.AppendInt(b, r.sequence.Int64, 10)
	}
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, r.reason)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, r.requestID)
	b = append(b, `,"idempotency_key":`...)
	b = appendJSONString(b, r.idemKey)
	if r.diffOK {
		b = append(b, `,"diff":`...)
		b = append(b, r.diff...) // jsonb's text output is valid JSON
	}
	return append(b, '}')
}

// appendTimestamp turns Postgres' text of a UTC timestamp, "2025-09-18 16:12:00" with an
// optional ".fraction" (trailing zeros already trimmed), into RFC 3339: "2025-09-18T16:12:00Z".
// Taking the text as is saves parsing and formatting a time per row.
func appendTimestamp(b []byte, pg []byte) []byte {
	b = append(b, pg...)
	if i := len(b) - len(pg) + 10; i < len(b) && b[i] == ' ' {
		b[i] = 'T'
	}
	return append(b, 'Z')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string (RFC 8259), replacing invalid UTF-8 with U+FFFD
// and escaping U+2028/U+2029 so the output is also safe inside JavaScript.
func appendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ExportCSV writes the seed's header and one line per matching entry, streaming. Cells are
// quoted per RFC 4180 and neutralised against spreadsheet formula injection.
func ExportCSV(ctx context.Context, db bun.IDB, orgID uuid.UUID, f Filter, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, strings.Join(CSVHeader, ",")...)
	buf = append(buf, '\n')
	err := each(ctx, db, orgID, f, func(r *row) error {
		buf = appendTimestamp(buf, r.ts)
		buf = appendCSVCell(append(buf, ','), r.object)
		buf = appendCSVCell(append(buf, ','), r.objectID)
		buf = appendCSVCell(append(buf, ','), r.action)
		buf = appendCSVCell(append(buf, ','), r.pool)
		buf = appendCSVCell(append(buf, ','), r.assignedTo)
		buf = appendCSVCell(append(buf, ','), r.prevOwner)
		buf = append(buf, ',')
		if r.sequence.Valid {
			buf = strconv.AppendInt(buf, r.sequence.Int64, 10)
		}
		buf = appendCSVCell(append(buf, ','), r.reason)
		buf = appendCSVCell(append(buf, ','), r.requestID)
		buf = appendCSVCell(append(buf, ','), r.idemKey)
		buf = appendCSVCell(append(buf, ','), r.diff)
		buf = append(buf, '\n')
		if len(buf) > 48<<10 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// csvSpecial marks the bytes that force a cell into quotes.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}

// appendCSVCell appends one cell: defused like SafeCell, and quoted (with quotes doubled) when
// it holds a comma, a quote, a line break or leading space, as encoding/csv does.
func appendCSVCell(b, cell []byte) []byte {
	if len(cell) == 0 {
		return b
	}
	formula := strings.IndexByte("=+-@\t\r", cell[0]) >= 0
	quote := cell[0] == ' '
	for _, c := range cell {
		if csvSpecial[c] {
			quote = true
			break
		}
	}
	if !formula && !quote {
		return append(b, cell...)
	}
	if quote {
		b = append(b, '"')
	}
	if formula {
		b = append(b, '\'')
	}
	for _, c := range cell {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	if quote {
		b = append(b, '"')
	}
	return b
}

// SafeCell defuses a cell that a spreadsheet would run as a formula (OWASP "CSV injection"):
// a value starting with =, +, -, @, tab or carriage return gets a leading apostrophe, which
// spreadsheets show as text and do not evaluate.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
