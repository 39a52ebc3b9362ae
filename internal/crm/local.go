package crm

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// Local is the CRM in Lantern's own Postgres.
type Local struct {
	DB     *bun.DB
	Region string // default region for phone numbers
	Now    func() time.Time

	upsertOnce sync.Once
	upsert     *schema.Stmt
}

var _ Store = (*Local)(nil)

func (l *Local) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func toRecord(m *schema.CRMRecord) *Record {
	r := &Record{ID: m.ID, Object: m.Object, Fields: m.Fields, Version: m.Version, CreatedAt: m.CreatedAt, LastModifiedAt: m.LastModifiedAt}
	if m.ExternalID != nil {
		r.ExternalID = *m.ExternalID
	}
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	r.Fields["Id"] = m.ID
	return r
}

// row builds the stored row of a record, with its typed columns.
func (l *Local) row(org uuid.UUID, object, id, externalID string, fields map[string]any, now time.Time) *schema.CRMRecord {
	k := keysOf(object, fields, l.Region)
	m := &schema.CRMRecord{OrgID: org, ID: id, Object: object, Fields: fields, NameNorm: k.Name, Domain: k.Domain,
		Email: k.Email, Phone: k.Phone, City: k.City, PostalCode: k.PostalCode, OwnerID: k.OwnerID, AccountID: k.AccountID,
		Birthdate: k.Birthdate, Version: 1, CreatedAt: now, LastModifiedAt: now}
	if externalID != "" {
		m.ExternalID = &externalID
	}
	return m
}

func cleanFields(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "Id" && v != nil {
			out[k] = v
		}
	}
	return out
}

// Get returns one record of the org.
func (l *Local) Get(ctx context.Context, org uuid.UUID, object, id string) (*Record, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	id18, ok := To18(id)
	if !ok || ObjectOf(id18) != object {
		return nil, apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	var m schema.CRMRecord
	err := l.DB.NewSelect().Model(&m).Where("org_id = ? AND id = ?", org, id18).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	if err != nil {
		return nil, err
	}
	return toRecord(&m), nil
}

// filterColumns are the typed columns a query may filter on, by filter name.
var filterColumns = map[string]string{
	"domain": "domain", "email": "email", "phone": "phone", "owner_id": "owner_id",
	"account_id": "account_id", "city": "city", "postal_code": "postal_code", "external_id": "external_id",
}

// Query lists records of one object, in id order.
func (l *Local) Query(ctx context.Context, org uuid.UUID, q Query) (Page, error) {
	if err := CheckObject(q.Object); err != nil {
		return Page{}, err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		return Page{}, apperr.Field("query.limit", "must be between 1 and 1000")
	}
	var rows []schema.CRMRecord
	// The key prefix keeps the scan to the object's range of the primary key.
	prefix := keyPrefix[q.Object]
	sel := l.DB.NewSelect().Model(&rows).Where("org_id = ? AND id >= ? AND id < ?", org, prefix, prefix+"~")
	for name, v := range q.Filters {
		col, ok := filterColumns[name]
		if !ok {
			return Page{}, apperr.Field("query."+name, "is not a filter (domain, email, phone, owner_id, account_id, city, postal_code, external_id)")
		}
		sel = sel.Where("? = ?", bun.Ident(col), normalizeFilter(name, v, l.Region))
	}
	if !q.Since.IsZero() {
		sel = sel.Where("last_modified_at >= ?", q.Since)
	}
	if q.After != "" {
		sel = sel.Where("id > ?", q.After)
	}
	if err := sel.OrderExpr("id").Limit(q.Limit + 1).Scan(ctx); err != nil {
		return Page{}, err
	}
	p := Page{Records: make([]Record, 0, min(len(rows), q.Limit))}
	for i := range rows {
		if i == q.Limit {
			p.Next = rows[i-1].ID
			break
		}
		p.Records = append(p.Records, *toRecord(&rows[i]))
	}
	return p, nil
}

// Cursor and ParseCursor wrap the last id of a page into an opaque token and back.
func Cursor(lastID string) string { return base64.RawURLEncoding.EncodeToString([]byte(lastID)) }

// ParseCursor reads a cursor made by Cursor.
func ParseCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if _, ok := To18(string(b)); err != nil || !ok {
		return "", apperr.Field("query.cursor", "is not a cursor this API returned")
	}
	return string(b), nil
}

// Create adds a record with a new id.
func (l *Local) Create(ctx context.Context, org uuid.UUID, object string, in Input) (*Record, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	if err := checkFields(object, in.Fields, true, "body.fields"); err != nil {
		return nil, err
	}
	m := l.row(org, object, NewID(object), in.ExternalID, cleanFields(in.Fields), l.now())
	res, err := l.DB.NewInsert().Model(m).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, apperr.New(apperr.Conflict, "a %s with external_id %q already exists; upsert it instead", object, in.ExternalID)
	}
	return toRecord(m), nil
}

// Upsert creates or updates the record with in.ExternalID; created says which.
func (l *Local) Upsert(ctx context.Context, org uuid.UUID, object string, in Input) (*Record, bool, error) {
	res, err := l.BulkUpsert(ctx, org, object, []Input{in})
	if err != nil {
		return nil, false, err
	}
	return res[0].Record, res[0].Created, res[0].Err
}

// Update merges fields into a record; a nil value removes the field.
func (l *Local) Update(ctx context.Context, org uuid.UUID, object, id string, fields map[string]any, ifVersion int64) (*Record, error) {
	if err := checkFields(object, fields, false, "body.fields"); err != nil {
		return nil, err
	}
	var out *Record
	err := l.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		cur, err := getForUpdate(ctx, tx, org, object, id)
		if err != nil {
			return err
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return apperr.New(apperr.Conflict, "%s %s is at version %d, not %d", object, id, cur.Version, ifVersion)
		}
		merged := maps.Clone(cur.Fields)
		for k, v := range fields {
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = v
			}
		}
		if err := checkFields(object, merged, true, "body.fields"); err != nil {
			return err
		}
		m := l.row(org, object, cur.ID, "", merged, l.now())
		_, err = tx.NewUpdate().Model(m).
			Column("fields", "name_norm", "domain", "email", "phone", "city", "postal_code", "owner_id", "account_id", "birthdate", "last_modified_at").
			Set("version = version + 1").
			Where("org_id = ? AND id = ?", org, cur.ID).
			Returning("version, created_at, external_id").Exec(ctx)
		if err != nil {
			return err
		}
		out = toRecord(m)
		return nil
	})
	return out, err
}

func getForUpdate(ctx context.Context, db bun.IDB, org uuid.UUID, object, id string) (*schema.CRMRecord, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	id18, ok := To18(id)
	if !ok || ObjectOf(id18) != object {
		return nil, apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	var m schema.CRMRecord
	err := db.NewSelect().Model(&m).Where("org_id = ? AND id = ?", org, id18).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	delete(m.Fields, "Id")
	return &m, err
}

// Delete removes a record.
func (l *Local) Delete(ctx context.Context, org uuid.UUID, object, id string) error {
	if err := CheckObject(object); err != nil {
		return err
	}
	id18, ok := To18(id)
	if !ok || ObjectOf(id18) != object {
		return apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	res, err := l.DB.NewDelete().Model((*schema.CRMRecord)(nil)).Where("org_id = ? AND id = ?", org, id18).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "no %s %s", object, id)
	}
	return nil
}

// upsertSQL writes a batch as arrays, one per column: prepared once, it spares Postgres
// parsing a thousand-row VALUES list per batch. xmax = 0 tells an inserted row from an
// updated one.
const upsertSQL = `
INSERT INTO crm_records AS r (org_id, id, object, external_id, fields, name_norm, domain, email, phone, city, postal_code,
    owner_id, account_id, birthdate, version, created_at, last_modified_at)
SELECT $1, t.id, $2, CASE WHEN t.has_ext THEN t.ext END, t.fields::jsonb, t.name, t.domain, t.email, t.phone, t.city, t.zip,
    t.owner, t.acct, t.birth, 1, $3, $3
FROM unnest($4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
    AS t (id, ext, has_ext, fields, name, domain, email, phone, city, zip, owner, acct, birth)
ON CONFLICT (org_id, object, external_id) WHERE external_id IS NOT NULL DO UPDATE
SET fields = EXCLUDED.fields, name_norm = EXCLUDED.name_norm, domain = EXCLUDED.domain, email = EXCLUDED.email,
    phone = EXCLUDED.phone, city = EXCLUDED.city, postal_code = EXCLUDED.postal_code, owner_id = EXCLUDED.owner_id,
    account_id = EXCLUDED.account_id, birthdate = EXCLUDED.birthdate, version = r.version + 1, last_modified_at = EXCLUDED.last_modified_at
RETURNING id, external_id, version, created_at, (xmax = 0)`

// MaxBulk is the most records one bulk upsert takes.
const MaxBulk = 1000

// BulkUpsert writes up to MaxBulk records in one statement: those with an external id are
// created or updated by it; those without are created. A record that fails validation gets
// its error in its result and the others are still written.
func (l *Local) BulkUpsert(ctx context.Context, org uuid.UUID, object string, ins []Input) ([]UpsertResult, error) {
	if err := CheckObject(object); err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > MaxBulk {
		return nil, apperr.Field("body.records", "must hold 1 to %d records", MaxBulk)
	}
	now := l.now()
	out := make([]UpsertResult, len(ins))
	seen := map[string]int{}
	var rows []*schema.CRMRecord
	var at []int
	for i, in := range ins {
		prefix := fmt.Sprintf("body.records[%d].fields", i)
		if err := checkFields(object, in.Fields, true, prefix); err != nil {
			out[i].Err = err
			continue
		}
		if in.ExternalID != "" {
			if j, dup := seen[in.ExternalID]; dup {
				out[i].Err = apperr.Field(fmt.Sprintf("body.records[%d].external_id", i), "repeats records[%d]", j)
				continue
			}
			seen[in.ExternalID] = i
		}
		rows = append(rows, l.row(org, object, NewID(object), in.ExternalID, cleanFields(in.Fields), now))
		at = append(at, i)
	}
	if len(rows) == 0 {
		return out, nil
	}
	l.upsertOnce.Do(func() { l.upsert = schema.NewStmt(l.DB, upsertSQL) })
	n := len(rows)
	ids, exts, hasExt, fieldsJSON := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	names, domains, emails, phones := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cities, zips, owners, accts := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	births := make([]string, n)
	for j, m := range rows {
		b, err := json.Marshal(m.Fields)
		if err != nil {
			return nil, err
		}
		ids[j], fieldsJSON[j] = m.ID, string(b)
		hasExt[j] = "f"
		if m.ExternalID != nil {
			exts[j], hasExt[j] = *m.ExternalID, "t"
		}
		names[j], domains[j], emails[j], phones[j] = m.NameNorm, m.Domain, m.Email, m.Phone
		cities[j], zips[j], owners[j], accts[j] = m.City, m.PostalCode, m.OwnerID, m.AccountID
		births[j] = m.Birthdate
	}
	dbRows, err := l.upsert.QueryContext(ctx, org, object, now, schema.TextArray(ids), schema.TextArray(exts), schema.TextArray(hasExt),
		schema.TextArray(fieldsJSON), schema.TextArray(names), schema.TextArray(domains), schema.TextArray(emails),
		schema.TextArray(phones), schema.TextArray(cities), schema.TextArray(zips), schema.TextArray(owners), schema.TextArray(accts), schema.TextArray(births))
	if err != nil {
		return nil, err
	}
	defer dbRows.Close()
	type returned struct {
		ID         string
		ExternalID *string
		Version    int64
		CreatedAt  time.Time
		Inserted   bool
	}
	var back []returned
	for dbRows.Next() {
		var r returned
		if err := dbRows.Scan(&r.ID, &r.ExternalID, &r.Version, &r.CreatedAt, &r.Inserted); err != nil {
			return nil, err
		}
		back = append(back, r)
	}
	if err := dbRows.Err(); err != nil {
		return nil, err
	}
	// Match the returned rows to the inputs: by external id, else by the id we generated (an
	// updated row keeps its own id).
	byKey := make(map[string]int, len(rows))
	for j, m := range rows {
		if m.ExternalID != nil {
			byKey["x:"+*m.ExternalID] = j
		} else {
			byKey["i:"+m.ID] = j
		}
	}
	for _, b := range back {
		key := "i:" + b.ID
		if b.ExternalID != nil {
			key = "x:" + *b.ExternalID
		}
		j, ok := byKey[key]
		if !ok {
			return nil, fmt.Errorf("crm: bulk upsert returned an unknown row %s", b.ID)
		}
		m := rows[j]
		m.ID, m.Version, m.CreatedAt = b.ID, b.Version, b.CreatedAt
		out[at[j]] = UpsertResult{Record: toRecord(m), Created: b.Inserted}
	}
	return out, nil
}

// OwnerChange sets one record's OwnerId, if the record is still at IfVersion.
type OwnerChange struct {
	ID, Owner string
	IfVersion int64
}

// SetOwners writes owners of records in one statement on db (the caller's transaction, so
// the change commits or rolls back with the caller's other writes: routing assigns this way).
// It returns the ids it changed; a record missing from them changed since it was read.
func (l *Local) SetOwners(ctx context.Context, db bun.IDB, org uuid.UUID, changes []OwnerChange) ([]string, error) {
	ids, owners, versions := make([]string, len(changes)), make([]string, len(changes)), make([]int64, len(changes))
	for i, c := range changes {
		if _, ok := To18(c.Owner); !ok || ObjectOf(c.Owner) != User {
			return nil, apperr.Field("OwnerId", "%q is not a User id", c.Owner)
		}
		ids[i], owners[i], versions[i] = c.ID, c.Owner, c.IfVersion
	}
	var changed []string
	err := db.NewRaw(`UPDATE crm_records AS r
		SET fields = r.fields || jsonb_build_object('OwnerId', v.owner), owner_id = v.owner, version = r.version + 1, last_modified_at = ?
		FROM unnest(?::text[], ?::text[], ?::bigint[]) AS v (id, owner, version)
		WHERE r.org_id = ? AND r.id = v.id AND r.version = v.version
		RETURNING r.id`, l.now(), pgdialect.Array(ids), pgdialect.Array(owners), pgdialect.Array(versions), org).Scan(ctx, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return changed, err
}
