package crm

import (
	"context"
	"database/sql"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/lanternhq/lantern/internal/match"
	"github.com/lanternhq/lantern/schema"
)

// MatchCandidatesSQL is Candidates' search shaped for large stores (exported as the match
// benchmarks' baseline). Each exact key is its own branch and repeats its partial index's
// predicate (the key is not empty), so that the planner uses that index: an OR of the keys
// reads the whole table (~0.4 s at a million accounts, and as long again in JIT compilation).
// Companies are looked up by name through their match.SearchWord (s.word), people by their
// whole name. The branches collect ids; only the ids found fetch their rows.
const MatchCandidatesSQL = `
SELECT s.idx, c.id, c.external_id, c.fields, c.version, c.created_at, c.last_modified_at
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $9::text[]) WITH ORDINALITY AS s (name, domain, email, phone, birth, word, idx)
CROSS JOIN LATERAL (
    SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.domain <> '' AND r.domain = s.domain
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.email <> '' AND r.email = s.email
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.phone <> '' AND r.phone = s.phone
    UNION SELECT r.id FROM crm_records AS r WHERE r.org_id = $1 AND r.object = $2 AND r.birthdate <> '' AND r.birthdate = s.birth
    UNION (SELECT r.id FROM crm_records AS r
           WHERE s.word <> '' AND r.org_id = $1 AND r.object = $2 AND s.word <% r.name_norm
           ORDER BY similarity(r.name_norm, s.name) DESC, r.id
           LIMIT $8)
    UNION (SELECT r.id FROM crm_records AS r
           WHERE s.word = '' AND s.name <> '' AND r.org_id = $1 AND r.object = $2 AND r.name_norm % s.name
           ORDER BY similarity(r.name_norm, s.name) DESC, r.id
           LIMIT $8)
) AS ids
JOIN crm_records AS c ON c.org_id = $1 AND c.id = ids.id
ORDER BY s.idx, c.id`

// The pg_trgm thresholds candidate search runs with. A company is a candidate by name when
// its name holds a word at least MatchWordSimilarity like the searched name's SearchWord
// ("acme" in "acme robotics", "acmee", "robotics acme"); a person when the whole name is at
// least MatchNameSimilarity like it. pg_trgm's default similarity, 0.3, admits every name
// sharing a common first or last name; 0.5 keeps nicknames' and typos' neighbours
// ("jon smith" / "john smith" 0.55-0.9). Records sharing a domain, email, phone or birth date
// are candidates whatever their names.
const (
	MatchWordSimilarity = "0.6"
	MatchNameSimilarity = "0.5"
)

// MatchSettings sets those thresholds (and turns JIT compilation off: the planner's
// estimates for trigram scans make it compile plans that run in milliseconds) for the
// current transaction only, not for the pooled connection's later queries.
const MatchSettings = "SELECT set_config('pg_trgm.word_similarity_threshold', '" + MatchWordSimilarity + "', true), " +
	"set_config('pg_trgm.similarity_threshold', '" + MatchNameSimilarity + "', true), set_config('jit', 'off', true)"

var matchStmts sync.Map // *sql.DB -> *sql.Stmt

// MatchCandidates finds, for each record to match, the org's records of object that may be
// the same entity (exact keys and the k most similar names, one statement for the whole
// request), as records the matching engine compares. recs use object's field names for the
// keys (a lead searched among accounts goes as match.LeadAsAccount; among contacts as it is,
// since people share their field names).
func (l *Local) MatchCandidates(ctx context.Context, org uuid.UUID, object string, recs []match.Record, k int) ([][]match.Record, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	out := make([][]match.Record, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	n := len(recs)
	names, domains, emails, phones, births := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	words := make([]string, n)
	for i, r := range recs {
		f := make(map[string]any, len(r.Fields))
		for name, v := range r.Fields {
			f[name] = v
		}
		sk := KeysFor(object, f, l.Region)
		names[i], domains[i], emails[i], phones[i], births[i] = sk.Name, sk.Domain, sk.Email, sk.Phone, sk.Birthdate
		if object == Account || object == Opportunity {
			words[i] = match.SearchWord(r.Fields["Name"])
		}
	}
	st, err := l.matchStmt(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := l.DB.DB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, MatchSettings); err != nil {
		return nil, err
	}
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, org, object, schema.TextArray(names), schema.TextArray(domains),
		schema.TextArray(emails), schema.TextArray(phones), schema.TextArray(births), k, schema.TextArray(words))
	if err != nil {
		return nil, err
	}
	if err := scanCandidates(rows, object, func(idx int, r *Record) { out[idx] = append(out[idx], MatchRecord(r)) }); err != nil {
		return nil, err
	}
	if err := addTieFacts(ctx, tx, org, out); err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

// tieFactsSQL reads what breaks ties between equally good candidates: an account's number of
// contacts, and whether a record's owner is an active User (a User without IsActive is active,
// as in ActiveUser). The count repeats the account index's predicate (account_id not empty),
// without which it reads every record of the org.
const tieFactsSQL = `
SELECT c.id,
    CASE WHEN c.object = 'Account' THEN
        (SELECT count(*) FROM crm_records AS k
         WHERE k.org_id = $1 AND k.account_id <> '' AND k.account_id = c.id AND k.object = 'Contact')
    ELSE 0 END,
    EXISTS (SELECT 1 FROM crm_records AS u WHERE c.owner_id <> '' AND u.org_id = $1 AND u.id = c.owner_id
            AND u.object = 'User' AND coalesce(u.fields->>'IsActive', 'true') <> 'false')
FROM crm_records AS c WHERE c.org_id = $1 AND c.id = ANY($2::text[])`

// addTieFacts fills ContactCount and OwnerActive of every candidate, so that the
// contact_count and owner_active tie-breakers work on CRM records as they do on inline ones.
func addTieFacts(ctx context.Context, tx *sql.Tx, org uuid.UUID, cands [][]match.Record) error {
	seen := map[string]bool{}
	var ids []string
	for _, list := range cands {
		for _, r := range list {
			if !seen[r.ID] {
				seen[r.ID] = true
				ids = append(ids, r.ID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, tieFactsSQL, org, schema.TextArray(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	type facts struct {
		contacts int
		active   bool
	}
	byID := make(map[string]facts, len(ids))
	for rows.Next() {
		var id string
		var f facts
		if err := rows.Scan(&id, &f.contacts, &f.active); err != nil {
			return err
		}
		byID[id] = f
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, list := range cands {
		for i := range list {
			f := byID[list[i].ID]
			list[i].ContactCount, list[i].OwnerActive = f.contacts, f.active
		}
	}
	return nil
}

func (l *Local) matchStmt(ctx context.Context) (*sql.Stmt, error) {
	if st, ok := matchStmts.Load(l.DB.DB); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := l.DB.DB.PrepareContext(ctx, MatchCandidatesSQL)
	if err != nil {
		return nil, err
	}
	if prev, loaded := matchStmts.LoadOrStore(l.DB.DB, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// MatchRecord is a CRM record as the matching engine reads it: its string (and number)
// fields, and its last change for tie-breaking.
func MatchRecord(r *Record) match.Record {
	f := make(map[string]string, len(r.Fields))
	for n, v := range r.Fields {
		switch x := v.(type) {
		case string:
			f[n] = x
		case float64:
			f[n] = strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			f[n] = strconv.FormatInt(x, 10)
		case int:
			f[n] = strconv.Itoa(x)
		}
	}
	return match.Record{ID: r.ID, Fields: f, LastModified: r.LastModifiedAt}
}
