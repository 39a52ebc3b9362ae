package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/schema"
)

// SearchKeys are what candidate search looks a record's duplicates up by.
type SearchKeys struct {
	Name, Domain, Email, Phone, Birthdate string
}

// KeysFor computes the search keys of a record given by its fields, the way stored records'
// typed columns are computed.
func KeysFor(object string, fields map[string]any, region string) SearchKeys {
	k := matchKeys(object, fields, region)
	return SearchKeys(k)
}

// candidatesSQL finds, for each search in one statement, the records sharing an exact key
// (domain, email, phone or birth date) and the top $7 by trigram similarity of the normalised
// name (the GIN index serves name_norm % ...). Each exact key is its own branch repeating its
// partial index's predicate, so the planner uses that index: an OR of the keys reads the whole
// table (~0.4 s at a million accounts). The branches collect ids; only those fetch their rows.
const candidatesSQL = `
SELECT s.idx, c.id, c.external_id, c.fields, c.version, c.created_at, c.last_modified_at
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $8::text[]) WITH ORDINALITY AS s (name, domain, email, phone, birth, idx)
CROSS JOIN LATERAL (
    SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.domain <> '' AND r.domain = s.domain
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.email <> '' AND r.email = s.email
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.phone <> '' AND r.phone = s.phone
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.birthdate <> '' AND r.birthdate = s.birth
    UNION (SELECT r.id FROM crm_records AS r
           WHERE s.name <> '' AND r.org_id = $1 AND r.object = $2 AND r.name_norm % s.name
           ORDER BY similarity(r.name_norm, s.name) DESC, r.id
           LIMIT $7)
) AS ids
JOIN crm_records AS c ON c.org_id = $1 AND c.id = ids.id
ORDER BY s.idx, c.id`

var candidateStmts sync.Map // *bun.DB -> *schema.Stmt

// Candidates returns, for each search, the org's records of object that may be the same
// entity: exact key matches and the k most similar names. Results are in id order; ranking
// them is the matching engine's work.
func (l *Local) Candidates(ctx context.Context, org uuid.UUID, object string, searches []SearchKeys, k int) ([][]Record, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	out := make([][]Record, len(searches))
	if len(searches) == 0 {
		return out, nil
	}
	st, _ := candidateStmts.LoadOrStore(l.DB, schema.NewStmt(l.DB, candidatesSQL))
	n := len(searches)
	names, domains, emails, phones := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	births := make([]string, n)
	for i, s := range searches {
		names[i], domains[i], emails[i], phones[i], births[i] = s.Name, s.Domain, s.Email, s.Phone, s.Birthdate
	}
	rows, err := st.(*schema.Stmt).QueryContext(ctx, org, object, schema.TextArray(names), schema.TextArray(domains),
		schema.TextArray(emails), schema.TextArray(phones), k, schema.TextArray(births))
	if err != nil {
		return nil, err
	}
	err = scanCandidates(rows, object, func(idx int, r *Record) { out[idx] = append(out[idx], *r) })
	return out, err
}

// scanCandidates reads candidate rows (the search's 1-based index, then the record's columns)
// and hands each record to add with its 0-based search index.
func scanCandidates(rows *sql.Rows, object string, add func(idx int, r *Record)) error {
	defer rows.Close()
	for rows.Next() {
		var (
			idx    int
			m      schema.CRMRecord
			ext    *string
			fields []byte
		)
		if err := rows.Scan(&idx, &m.ID, &ext, &fields, &m.Version, &m.CreatedAt, &m.LastModifiedAt); err != nil {
			return err
		}
		m.Object, m.ExternalID = object, ext
		if err := json.Unmarshal(fields, &m.Fields); err != nil {
			return err
		}
		add(idx-1, toRecord(&m))
	}
	return rows.Err()
}
