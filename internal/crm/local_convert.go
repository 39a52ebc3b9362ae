package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/schema"
)

// The local store converts leads and merges records the way Salesforce does (convertLead,
// merge, undelete), each in one transaction. Merged-away records go to a recycle bin
// (crm_recycle_bin) with every column they had, so Undelete brings them back with their ids.
// The *Tx variants run on the caller's transaction, so the caller's own rows (a merge
// journal, a conversion record) commit or roll back with the change.

var _ Converter = (*Local)(nil)

// DefaultConvertedStatus is the lead Status a conversion sets when none is given.
const DefaultConvertedStatus = "Closed - Converted"

// DefaultOpportunityStage is the StageName of an opportunity a conversion creates.
const DefaultOpportunityStage = "Prospecting"

// leadToAccount, leadToContact: the standard lead field mapping of a conversion.
var (
	leadToAccount = map[string]string{"Company": "Name", "Website": "Website", "Phone": "Phone", "Street": "BillingStreet",
		"City": "BillingCity", "State": "BillingState", "PostalCode": "BillingPostalCode", "Country": "BillingCountry",
		"Industry": "Industry", "NumberOfEmployees": "NumberOfEmployees", "AnnualRevenue": "AnnualRevenue", "Rating": "Rating"}
	leadToContact = map[string]string{"Salutation": "Salutation", "FirstName": "FirstName", "LastName": "LastName", "Title": "Title",
		"Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone", "Fax": "Fax", "Street": "MailingStreet",
		"City": "MailingCity", "State": "MailingState", "PostalCode": "MailingPostalCode", "Country": "MailingCountry",
		"LeadSource": "LeadSource", "Description": "Description", "HasOptedOutOfEmail": "HasOptedOutOfEmail", "DoNotCall": "DoNotCall"}
)

func mapFields(lead map[string]any, mapping map[string]string) map[string]any {
	out := map[string]any{}
	for from, to := range mapping {
		if v, ok := lead[from]; ok && !Empty(v) {
			out[to] = v
		}
	}
	return out
}

// LeadAccountFields are the account fields a conversion takes from a lead's fields.
func LeadAccountFields(lead map[string]any) map[string]any { return mapFields(lead, leadToAccount) }

// LeadContactFields are the contact fields a conversion takes from a lead's fields.
func LeadContactFields(lead map[string]any) map[string]any { return mapFields(lead, leadToContact) }

// LeadOpportunityFields are the fields of the opportunity a conversion creates: name ("" is
// the lead's Company), the first stage, the close date at the end of the quarter, the source.
func LeadOpportunityFields(lead map[string]any, name string, now time.Time) map[string]any {
	if name == "" {
		name, _ = lead["Company"].(string)
	}
	f := map[string]any{"Name": name, "StageName": DefaultOpportunityStage, "CloseDate": EndOfQuarter(now).Format(time.DateOnly)}
	if s, ok := lead["LeadSource"].(string); ok && s != "" {
		f["LeadSource"] = s
	}
	return f
}

// EndOfQuarter is the last day of t's calendar quarter: Salesforce's default CloseDate.
func EndOfQuarter(t time.Time) time.Time {
	t = t.UTC()
	q := (int(t.Month())-1)/3*3 + 4 // first month of the next quarter
	return time.Date(t.Year(), time.Month(q), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
}

// Empty reports whether a field value counts as blank (absent, null or an empty string).
func Empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	}
	return false
}

// FillEmpty returns the fields of from that are blank in into (what a conversion writes on an
// existing account or contact).
func FillEmpty(into, from map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range from {
		if Empty(into[k]) && !Empty(v) {
			out[k] = v
		}
	}
	return out
}

// ConvertLead converts a lead in one transaction; see ConvertLeadTx.
func (l *Local) ConvertLead(ctx context.Context, org uuid.UUID, in LeadConvert) (*LeadConvertResult, error) {
	var out *LeadConvertResult
	err := l.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = l.ConvertLeadTx(ctx, tx, org, in)
		return err
	})
	return out, err
}

// ConvertLeadTx converts a lead on db as Salesforce's convertLead does: it attaches the lead
// to an existing account (filling the account's blank fields from the lead) or creates one;
// merges it into an existing contact of that account (filling blanks) or creates one; creates
// an opportunity unless told not to; and marks the lead converted (IsConverted,
// ConvertedAccountId, ConvertedContactId, ConvertedOpportunityId, ConvertedDate, Status).
// Created records are owned by in.OwnerID, else by the lead's owner. A lead already converted
// is a conflict.
func (l *Local) ConvertLeadTx(ctx context.Context, db bun.IDB, org uuid.UUID, in LeadConvert) (*LeadConvertResult, error) {
	now := l.now()
	lead, err := getForUpdate(ctx, db, org, Lead, in.LeadID)
	if err != nil {
		return nil, withField(err, "lead_id")
	}
	if b, _ := lead.Fields["IsConverted"].(bool); b {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "lead_id",
			Message: fmt.Sprintf("lead %s is already converted (account %v, contact %v)", lead.ID, lead.Fields["ConvertedAccountId"], lead.Fields["ConvertedContactId"])}
	}
	owner := in.OwnerID
	if owner == "" {
		owner, _ = lead.Fields["OwnerId"].(string)
	}
	if owner != "" {
		if _, err := getForUpdate(ctx, db, org, User, owner); err != nil {
			return nil, withField(err, "owner_id")
		}
		owner, _ = To18(owner)
	}
	withOwner := func(f map[string]any) map[string]any {
		if owner != "" {
			f["OwnerId"] = owner
		}
		return f
	}
	res := &LeadConvertResult{LeadID: lead.ID}

	// Account.
	if in.AccountID != "" {
		acct, err := getForUpdate(ctx, db, org, Account, in.AccountID)
		if err != nil {
			return nil, withField(err, "account_id")
		}
		if fill := FillEmpty(acct.Fields, LeadAccountFields(lead.Fields)); len(fill) > 0 {
			if err := l.writeTx(ctx, db, org, acct, WithChanges(acct.Fields, fill), now); err != nil {
				return nil, err
			}
		}
		res.AccountID = acct.ID
	} else {
		if in.ContactID != "" {
			return nil, apperr.Field("account_id", "is required with contact_id: a contact is merged within its account")
		}
		acct, err := l.insertTx(ctx, db, org, Account, withOwner(LeadAccountFields(lead.Fields)), now)
		if err != nil {
			return nil, err
		}
		res.AccountID = acct.ID
	}

	// Contact.
	if in.ContactID != "" {
		c, err := getForUpdate(ctx, db, org, Contact, in.ContactID)
		if err != nil {
			return nil, withField(err, "contact_id")
		}
		if c.AccountID != res.AccountID {
			return nil, apperr.Field("contact_id", "contact %s belongs to account %q, not %s", c.ID, c.AccountID, res.AccountID)
		}
		if fill := FillEmpty(c.Fields, LeadContactFields(lead.Fields)); len(fill) > 0 {
			if err := l.writeTx(ctx, db, org, c, WithChanges(c.Fields, fill), now); err != nil {
				return nil, err
			}
		}
		res.ContactID = c.ID
	} else {
		f := withOwner(LeadContactFields(lead.Fields))
		f["AccountId"] = res.AccountID
		c, err := l.insertTx(ctx, db, org, Contact, f, now)
		if err != nil {
			return nil, err
		}
		res.ContactID = c.ID
	}

	// Opportunity.
	if !in.DoNotCreateOpportunity {
		f := withOwner(LeadOpportunityFields(lead.Fields, in.OpportunityName, now))
		f["AccountId"] = res.AccountID
		if s, _ := f["Name"].(string); s == "" {
			return nil, apperr.Field("opportunity_name", "is required: the lead has no Company to name the opportunity after")
		}
		o, err := l.insertTx(ctx, db, org, Opportunity, f, now)
		if err != nil {
			return nil, err
		}
		res.OpportunityID = o.ID
	}

	// The lead.
	status := in.ConvertedStatus
	if status == "" {
		status = DefaultConvertedStatus
	}
	changes := withOwner(map[string]any{"IsConverted": true, "ConvertedAccountId": res.AccountID, "ConvertedContactId": res.ContactID,
		"ConvertedDate": now.Format(time.DateOnly), "Status": status})
	if res.OpportunityID != "" {
		changes["ConvertedOpportunityId"] = res.OpportunityID
	}
	if err := l.writeTx(ctx, db, org, lead, WithChanges(lead.Fields, changes), now); err != nil {
		return nil, err
	}
	return res, nil
}

// withField names the input at fault in a not-found error.
func withField(err error, field string) error {
	if e, ok := apperr.As(err); ok && e.Field == "" && (e.Code == apperr.NotFound || e.Code == apperr.Invalid) {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// WithChanges is fields with changes applied (nil removes a field), without the Id field.
func WithChanges(fields, changes map[string]any) map[string]any {
	out := maps.Clone(fields)
	if out == nil {
		out = map[string]any{}
	}
	delete(out, "Id")
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// insertTx creates a record on db.
func (l *Local) insertTx(ctx context.Context, db bun.IDB, org uuid.UUID, object string, fields map[string]any, now time.Time) (*schema.CRMRecord, error) {
	if err := checkFields(object, fields, true, "fields"); err != nil {
		return nil, err
	}
	m := l.row(org, object, NewID(object), "", cleanFields(fields), now)
	if _, err := db.NewInsert().Model(m).Exec(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// writeTx replaces a locked record's fields (cur as read by getForUpdate) and bumps its version.
func (l *Local) writeTx(ctx context.Context, db bun.IDB, org uuid.UUID, cur *schema.CRMRecord, fields map[string]any, now time.Time) error {
	if err := checkFields(cur.Object, fields, true, "fields"); err != nil {
		return err
	}
	m := l.row(org, cur.Object, cur.ID, "", cleanFields(fields), now)
	_, err := db.NewUpdate().Model(m).
		Column("fields", "name_norm", "domain", "email", "phone", "city", "postal_code", "owner_id", "account_id", "birthdate", "last_modified_at").
		Set("version = version + 1").
		Where("org_id = ? AND id = ?", org, cur.ID).
		Returning("version").Exec(ctx)
	if err == nil {
		cur.Fields, cur.Version, cur.LastModifiedAt = m.Fields, m.Version, now
	}
	return err
}

// ReplaceFieldsTx sets a record's fields to exactly fields (an undo puts a before-image back)
// and returns the record as written.
func (l *Local) ReplaceFieldsTx(ctx context.Context, db bun.IDB, org uuid.UUID, object, id string, fields map[string]any) (*Record, error) {
	cur, err := getForUpdate(ctx, db, org, object, id)
	if err != nil {
		return nil, err
	}
	if err := l.writeTx(ctx, db, org, cur, WithChanges(fields, nil), l.now()); err != nil {
		return nil, err
	}
	return toRecord(cur), nil
}

// GetTx reads a record on db, locking it for the caller's transaction.
func (l *Local) GetTx(ctx context.Context, db bun.IDB, org uuid.UUID, object, id string) (*Record, error) {
	m, err := getForUpdate(ctx, db, org, object, id)
	if err != nil {
		return nil, err
	}
	return toRecord(m), nil
}

// DeleteTx hard-deletes records on db (a compensation removes what a conversion created). Ids
// already gone are skipped, so it can run again.
func (l *Local) DeleteTx(ctx context.Context, db bun.IDB, org uuid.UUID, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.NewDelete().Model((*schema.CRMRecord)(nil)).Where("org_id = ? AND id IN (?)", org, bun.List(ids)).Exec(ctx)
	return err
}

// ReparentedChild is a record that points at a parent through a lookup field.
type ReparentedChild struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Field  string `json:"field" doc:"The lookup field, e.g. AccountId"`
	From   string `json:"from" doc:"The parent it pointed at before the merge"`
}

// childLookup is the lookup field through which an object's children point at it.
var childLookup = map[string]string{Account: "AccountId", Contact: "ContactId"}

// MergeObjects are the objects Merge accepts, as in Salesforce.
var MergeObjects = []string{Account, Contact, Lead}

// Merge merges duplicates into a master in one transaction; see MergeTx.
func (l *Local) Merge(ctx context.Context, org uuid.UUID, in MergeRequest) (*MergeResult, error) {
	var out *MergeResult
	err := l.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, _, err = l.MergeTx(ctx, tx, org, in)
		return err
	})
	return out, err
}

// MergeTx merges on db: it writes MasterFields on the master, re-parents the duplicates'
// children (AccountId of contacts and opportunities for accounts; ContactId for contacts) to
// the master, and moves the duplicates to the recycle bin. It returns the children it moved
// with the parent each had.
func (l *Local) MergeTx(ctx context.Context, db bun.IDB, org uuid.UUID, in MergeRequest) (*MergeResult, []ReparentedChild, error) {
	if !slices.Contains(MergeObjects, in.Object) {
		return nil, nil, apperr.Field("object", "must be one of Account, Contact, Lead")
	}
	if len(in.DuplicateIDs) == 0 {
		return nil, nil, apperr.Field("duplicate_ids", "must name at least one record")
	}
	master, ok := To18(in.MasterID)
	if !ok || ObjectOf(master) != in.Object {
		return nil, nil, &apperr.Error{Code: apperr.NotFound, Field: "master_id", Message: fmt.Sprintf("no %s %s", in.Object, in.MasterID)}
	}
	dups := make([]string, len(in.DuplicateIDs))
	for i, id := range in.DuplicateIDs {
		id18, ok := To18(id)
		if !ok || ObjectOf(id18) != in.Object {
			return nil, nil, apperr.Field(fmt.Sprintf("duplicate_ids[%d]", i), "%q is not a %s id", id, in.Object)
		}
		if id18 == master || slices.Contains(dups[:i], id18) {
			return nil, nil, apperr.Field(fmt.Sprintf("duplicate_ids[%d]", i), "repeats %s", id18)
		}
		dups[i] = id18
	}
	// Lock in id order, so concurrent merges of overlapping records cannot deadlock.
	all := append([]string{master}, dups...)
	sort.Strings(all)
	locked := map[string]*schema.CRMRecord{}
	for _, id := range all {
		m, err := getForUpdate(ctx, db, org, in.Object, id)
		if err != nil {
			field := "master_id"
			if i := slices.Index(dups, id); i >= 0 {
				field = fmt.Sprintf("duplicate_ids[%d]", i)
			}
			return nil, nil, withField(err, field)
		}
		locked[id] = m
	}
	now := l.now()
	m := locked[master]
	if len(in.MasterFields) > 0 {
		if err := checkFields(in.Object, in.MasterFields, false, "master_fields"); err != nil {
			return nil, nil, err
		}
		if err := l.writeTx(ctx, db, org, m, WithChanges(m.Fields, in.MasterFields), now); err != nil {
			return nil, nil, err
		}
	}
	var children []ReparentedChild
	if field, ok := childLookup[in.Object]; ok {
		col := "fields->>'" + field + "'"
		if field == "AccountId" {
			col = "account_id" // indexed
		}
		err := db.NewRaw(`UPDATE crm_records AS r
			SET fields = r.fields || jsonb_build_object(?, ?::text), account_id = CASE WHEN ? = 'AccountId' THEN ?::text ELSE r.account_id END,
			    version = r.version + 1, last_modified_at = ?
			FROM (SELECT id, `+col+` AS parent FROM crm_records WHERE org_id = ? AND `+col+` IN (?) FOR UPDATE) AS o
			WHERE r.org_id = ? AND r.id = o.id
			RETURNING r.id, r.object, o.parent AS "from"`,
			field, master, field, master, now, org, bun.List(dups), org).Scan(ctx, &children)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, err
		}
		for i := range children {
			children[i].Field = field
		}
		sort.Slice(children, func(i, j int) bool { return children[i].ID < children[j].ID })
	}
	if _, err := db.NewRaw(`INSERT INTO crm_recycle_bin (org_id, id, object, external_id, fields, name_norm, domain, email, phone, city,
			postal_code, owner_id, account_id, birthdate, version, created_at, last_modified_at, deleted_at, master_id)
		SELECT org_id, id, object, external_id, fields, name_norm, domain, email, phone, city,
			postal_code, owner_id, account_id, birthdate, version, created_at, last_modified_at, ?, ?
		FROM crm_records WHERE org_id = ? AND id IN (?)
		ON CONFLICT (org_id, id) DO UPDATE SET fields = EXCLUDED.fields, version = EXCLUDED.version, deleted_at = EXCLUDED.deleted_at,
			master_id = EXCLUDED.master_id, last_modified_at = EXCLUDED.last_modified_at`,
		now, master, org, bun.List(dups)).Exec(ctx); err != nil {
		return nil, nil, err
	}
	if err := l.DeleteTx(ctx, db, org, dups); err != nil {
		return nil, nil, err
	}
	res := &MergeResult{MasterID: master, MergedIDs: dups, UpdatedRelatedIDs: []string{}}
	for _, c := range children {
		res.UpdatedRelatedIDs = append(res.UpdatedRelatedIDs, c.ID)
	}
	return res, children, nil
}

// Undelete restores merged-away records from the recycle bin in one transaction.
func (l *Local) Undelete(ctx context.Context, org uuid.UUID, object string, ids []string) error {
	return l.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return l.UndeleteTx(ctx, tx, org, object, ids)
	})
}

// UndeleteTx restores records from the recycle bin on db, with their ids and fields (their
// version goes up by one). An id not in the bin is not found; a record whose external id was
// taken since is a conflict.
func (l *Local) UndeleteTx(ctx context.Context, db bun.IDB, org uuid.UUID, object string, ids []string) error {
	if err := CheckObject(object); err != nil {
		return err
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		id18, ok := To18(id)
		if !ok || ObjectOf(id18) != object {
			return &apperr.Error{Code: apperr.NotFound, Field: fmt.Sprintf("ids[%d]", i), Message: fmt.Sprintf("no deleted %s %s", object, id)}
		}
		want[i] = id18
	}
	if len(want) == 0 {
		return nil
	}
	if _, err := db.ExecContext(ctx, "SAVEPOINT crm_undelete"); err != nil {
		return err
	}
	var restored []string
	err := db.NewRaw(`WITH moved AS (
			DELETE FROM crm_recycle_bin WHERE org_id = ? AND object = ? AND id IN (?)
			RETURNING org_id, id, object, external_id, fields, name_norm, domain, email, phone, city, postal_code, owner_id,
				account_id, birthdate, version, created_at)
		INSERT INTO crm_records (org_id, id, object, external_id, fields, name_norm, domain, email, phone, city, postal_code,
			owner_id, account_id, birthdate, version, created_at, last_modified_at)
		SELECT org_id, id, object, external_id, fields, name_norm, domain, email, phone, city, postal_code,
			owner_id, account_id, birthdate, version + 1, created_at, ? FROM moved
		RETURNING id`, org, object, bun.List(want), l.now()).Scan(ctx, &restored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		var pgErr pgdriver.Error
		if errors.As(err, &pgErr) && pgErr.Field('C') == "23505" {
			db.ExecContext(ctx, "ROLLBACK TO SAVEPOINT crm_undelete") //nolint:errcheck
			return apperr.New(apperr.Conflict, "a deleted %s cannot be restored: its id or external_id is in use again", object)
		}
		return err
	}
	for i, id := range want {
		if !slices.Contains(restored, id) {
			return &apperr.Error{Code: apperr.NotFound, Field: fmt.Sprintf("ids[%d]", i), Message: fmt.Sprintf("no deleted %s %s", object, id)}
		}
	}
	return nil
}

// ReparentTx points children back at a parent: each id whose field still names from is set
// to to. It returns the ids it changed.
func (l *Local) ReparentTx(ctx context.Context, db bun.IDB, org uuid.UUID, field string, ids []string, from, to string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !IsFieldName(field) {
		return nil, apperr.Field("field", "is not a field name")
	}
	var changed []string
	err := db.NewRaw(`UPDATE crm_records AS r
		SET fields = r.fields || jsonb_build_object(?, ?::text), account_id = CASE WHEN ? = 'AccountId' THEN ?::text ELSE r.account_id END,
		    version = r.version + 1, last_modified_at = ?
		WHERE r.org_id = ? AND r.id IN (?) AND r.fields->>? = ?
		RETURNING r.id`, field, to, field, to, l.now(), org, bun.List(ids), field, from).Scan(ctx, &changed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return changed, nil
}

// Deleted returns records in the recycle bin (merged-away duplicates), for reading their last
// state.
func (l *Local) Deleted(ctx context.Context, db bun.IDB, org uuid.UUID, ids []string) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []schema.CRMRecord
	if err := db.NewSelect().Model(&rows).ModelTableExpr("crm_recycle_bin AS crm_record").
		Where("org_id = ? AND id IN (?)", org, bun.List(ids)).OrderExpr("id").Scan(ctx); err != nil {
		return nil, err
	}
	out := make([]Record, len(rows))
	for i := range rows {
		out[i] = *toRecord(&rows[i])
	}
	return out, nil
}
