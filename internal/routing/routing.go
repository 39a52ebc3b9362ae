// Package routing assigns CRM records to users by smooth weighted round robin over pools.
//
// A pool has members (CRM Users) with weights, statuses, caps and working hours. Each
// assignment locks its pool row (SELECT ... FOR UPDATE) in one transaction that reads the
// members' scores, picks the next member (Next, in rotation.go), writes the new scores, the
// assignment with the pool's next sequence number and its route log row, and sets the record's
// owner in the CRM. So assignments on one pool run one at a time whichever API process runs
// them, sequence numbers have no gaps or duplicates, and the shares are exact.
package routing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/coalesce"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/schema"
)

// What happens to a member's place in the rotation while they are away.
const (
	KeepPlace = "keep_place" // their score is frozen; they resume where they left off
	CatchUp   = "catch_up"   // their score keeps growing; they make up what they missed
)

// Member statuses.
const (
	Active      = "active"
	Paused      = "paused"
	OutOfOffice = "out_of_office"
)

// Objects a pool may serve: the CRM objects that have an owner.
var Objects = []string{crm.Lead, crm.Contact, crm.Account, crm.Opportunity}

// Service holds what routing needs: Postgres for pools and state, the CRM for users and owners.
type Service struct {
	DB  *bun.DB
	CRM crm.Store
	Now func() time.Time

	batchOnce sync.Once
	batch     *coalesce.Coalescer[batchKey, item, outcome]
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Pool is a named group of members that records are assigned across.
type Pool struct {
	ID           uuid.UUID `json:"id"`
	Name         string    `json:"name" doc:"Unique in the org"`
	Objects      []string  `json:"objects" doc:"The objects the pool serves (Lead, Contact, Account, Opportunity)"`
	OnReturn     string    `json:"on_return" enum:"keep_place,catch_up" doc:"keep_place: a member who was away resumes where they left off; catch_up: they make up the assignments they missed"`
	LastSequence int64     `json:"last_sequence" doc:"Sequence number of the pool's latest assignment (0: none yet)"`
	Members      int       `json:"members" doc:"How many members the pool has"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// PoolInput creates or replaces a pool's settings.
type PoolInput struct {
	Name     string
	Objects  []string
	OnReturn string // "" means keep_place
}

var poolName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

func (in *PoolInput) check() error {
	if !poolName.MatchString(in.Name) {
		return apperr.Field("body.name", "must be 1-100 letters, digits, _, . or -, starting with a letter or digit")
	}
	if len(in.Objects) == 0 {
		return apperr.Field("body.objects", "must name at least one of Lead, Contact, Account, Opportunity")
	}
	seen := map[string]bool{}
	for i, o := range in.Objects {
		if !slices.Contains(Objects, o) {
			return apperr.Field("body.objects", "item %d, %q, is not one of Lead, Contact, Account, Opportunity", i, o)
		}
		if seen[o] {
			return apperr.Field("body.objects", "names %s twice", o)
		}
		seen[o] = true
	}
	switch in.OnReturn {
	case "":
		in.OnReturn = KeepPlace
	case KeepPlace, CatchUp:
	default:
		return apperr.Field("body.on_return", "must be keep_place or catch_up")
	}
	return nil
}

func toPool(m *schema.RoutingPool, members int) *Pool {
	return &Pool{ID: m.ID, Name: m.Name, Objects: m.Objects, OnReturn: m.OnReturn, LastSequence: m.LastSequence,
		Members: members, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func isUnique(err error) bool {
	var pgErr pgdriver.Error
	return errors.As(err, &pgErr) && pgErr.Field('C') == "23505"
}

func noPool(name string) error {
	return &apperr.Error{Code: apperr.NotFound, Field: "pool", Message: "no pool named " + name}
}

// CreatePool adds a pool; its name must be new in the org.
func (s *Service) CreatePool(ctx context.Context, org uuid.UUID, in PoolInput) (*Pool, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	now := s.now()
	m := &schema.RoutingPool{OrgID: org, Name: in.Name, Objects: in.Objects, OnReturn: in.OnReturn, CreatedAt: now, UpdatedAt: now}
	if _, err := s.DB.NewInsert().Model(m).Returning("id").Exec(ctx); err != nil {
		if isUnique(err) {
			return nil, &apperr.Error{Code: apperr.Conflict, Field: "body.name", Message: "a pool named " + in.Name + " already exists"}
		}
		return nil, err
	}
	return toPool(m, 0), nil
}

// pool reads one pool by name; with lock, it holds the pool's row until the transaction ends.
func pool(ctx context.Context, db bun.IDB, org uuid.UUID, name string, lock bool) (*schema.RoutingPool, error) {
	var m schema.RoutingPool
	q := db.NewSelect().Model(&m).Where("org_id = ? AND name = ?", org, name)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		return nil, noPool(name)
	} else if err != nil {
		return nil, err
	}
	return &m, nil
}

func memberCounts(ctx context.Context, db bun.IDB, org uuid.UUID, pools []uuid.UUID) (map[uuid.UUID]int, error) {
	var rows []struct {
		PoolID uuid.UUID
		N      int
	}
	out := map[uuid.UUID]int{}
	if len(pools) == 0 {
		return out, nil
	}
	err := db.NewSelect().TableExpr("routing_members").ColumnExpr("pool_id, count(*) AS n").
		Where("org_id = ? AND pool_id IN (?)", org, bun.List(pools)).GroupExpr("pool_id").Scan(ctx, &rows)
	for _, r := range rows {
		out[r.PoolID] = r.N
	}
	return out, err
}

// GetPool returns one pool.
func (s *Service) GetPool(ctx context.Context, org uuid.UUID, name string) (*Pool, error) {
	m, err := pool(ctx, s.DB, org, name, false)
	if err != nil {
		return nil, err
	}
	n, err := memberCounts(ctx, s.DB, org, []uuid.UUID{m.ID})
	if err != nil {
		return nil, err
	}
	return toPool(m, n[m.ID]), nil
}

// ListPools returns the org's pools by name.
func (s *Service) ListPools(ctx context.Context, org uuid.UUID) ([]Pool, error) {
	var ms []schema.RoutingPool
	if err := s.DB.NewSelect().Model(&ms).Where("org_id = ?", org).OrderExpr("name").Scan(ctx); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, len(ms))
	for i := range ms {
		ids[i] = ms[i].ID
	}
	n, err := memberCounts(ctx, s.DB, org, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Pool, len(ms))
	for i := range ms {
		out[i] = *toPool(&ms[i], n[ms[i].ID])
	}
	return out, nil
}

// UpdatePool replaces a pool's settings (it may be renamed); its members and state stay.
func (s *Service) UpdatePool(ctx context.Context, org uuid.UUID, name string, in PoolInput) (*Pool, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var m schema.RoutingPool
	err := s.DB.NewUpdate().Model(&m).
		Set("name = ?, objects = ?, on_return = ?, updated_at = ?", in.Name, pgdialect.Array(in.Objects), in.OnReturn, s.now()).
		Where("org_id = ? AND name = ?", org, name).Returning("*").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noPool(name)
	}
	if isUnique(err) {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "body.name", Message: "a pool named " + in.Name + " already exists"}
	}
	if err != nil {
		return nil, err
	}
	n, err := memberCounts(ctx, s.DB, org, []uuid.UUID{m.ID})
	if err != nil {
		return nil, err
	}
	return toPool(&m, n[m.ID]), nil
}

// DeletePool removes a pool with its members, state and assignment records. Route log rows
// stay: they are the audit trail.
func (s *Service) DeletePool(ctx context.Context, org uuid.UUID, name string) error {
	res, err := s.DB.NewDelete().Model((*schema.RoutingPool)(nil)).Where("org_id = ? AND name = ?", org, name).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return noPool(name)
	}
	return nil
}

// Member is a pool member: a CRM User with their settings and rotation state.
type Member struct {
	UserID           string        `json:"user_id" doc:"18-character id of a CRM User"`
	Weight           int           `json:"weight" doc:"Relative share of assignments"`
	Status           string        `json:"status" enum:"active,paused,out_of_office"`
	OutOfOfficeUntil *time.Time    `json:"out_of_office_until,omitempty" doc:"With status out_of_office: available again from this instant"`
	CapDay           *int          `json:"cap_day,omitempty" doc:"At most this many assignments in any rolling 24 hours"`
	CapWeek          *int          `json:"cap_week,omitempty" doc:"At most this many assignments in any rolling 7 days"`
	WorkingHours     *WorkingHours `json:"working_hours,omitempty" doc:"Only assigned within these hours"`
	CurrentWeight    int64         `json:"current_weight" doc:"The member's score in the rotation (smooth weighted round robin)"`
	Assigned         int64         `json:"assigned" doc:"Assignments since joining the pool or its last rebalance"`
	Position         int64         `json:"position" doc:"Join order; the earlier member wins a tie"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
}

// MemberInput sets a member's settings.
type MemberInput struct {
	UserID           string
	Weight           int
	Status           string // "" means active
	OutOfOfficeUntil *time.Time
	CapDay, CapWeek  *int
	WorkingHours     *WorkingHours
}

func (in *MemberInput) check() error {
	if in.Weight <= 0 || in.Weight > 1000 {
		return apperr.Field("body.weight", "must be between 1 and 1000")
	}
	switch in.Status {
	case "":
		in.Status = Active
	case Active, Paused:
		if in.OutOfOfficeUntil != nil {
			return apperr.Field("body.out_of_office_until", "is only for status out_of_office")
		}
	case OutOfOffice:
		if in.OutOfOfficeUntil == nil {
			return apperr.Field("body.out_of_office_until", "is required with status out_of_office")
		}
	default:
		return apperr.Field("body.status", "must be active, paused or out_of_office")
	}
	if in.CapDay != nil && *in.CapDay <= 0 {
		return apperr.Field("body.cap_day", "must be at least 1 (leave it out for no cap)")
	}
	if in.CapWeek != nil && *in.CapWeek <= 0 {
		return apperr.Field("body.cap_week", "must be at least 1 (leave it out for no cap)")
	}
	if in.WorkingHours != nil {
		if err := in.WorkingHours.check("body.working_hours"); err != nil {
			return err
		}
	}
	return nil
}

func toMember(m *schema.RoutingMember) Member {
	out := Member{UserID: m.UserID, Weight: m.Weight, Status: m.Status, OutOfOfficeUntil: m.OutOfOfficeUntil,
		CapDay: m.CapDay, CapWeek: m.CapWeek, CurrentWeight: m.CurrentWeight, Assigned: m.Assigned,
		Position: m.Position, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if len(m.WorkingHours) > 0 {
		var wh WorkingHours
		if json.Unmarshal(m.WorkingHours, &wh) == nil {
			out.WorkingHours = &wh
		}
	}
	return out
}

func (in *MemberInput) row(org, poolID uuid.UUID, now time.Time) (*schema.RoutingMember, error) {
	m := &schema.RoutingMember{OrgID: org, PoolID: poolID, UserID: in.UserID, Weight: in.Weight, Status: in.Status,
		OutOfOfficeUntil: in.OutOfOfficeUntil, CapDay: in.CapDay, CapWeek: in.CapWeek, CreatedAt: now, UpdatedAt: now}
	if in.WorkingHours != nil {
		b, err := json.Marshal(in.WorkingHours)
		if err != nil {
			return nil, err
		}
		m.WorkingHours = b
	}
	return m, nil
}

// AddMember adds a CRM User to a pool. They start with a score of 0, behind nobody.
func (s *Service) AddMember(ctx context.Context, org uuid.UUID, poolName string, in MemberInput) (*Member, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	id, err := crm.ActiveUser(ctx, s.CRM, org, in.UserID, "body.user_id")
	if err != nil {
		return nil, err
	}
	in.UserID = id
	p, err := pool(ctx, s.DB, org, poolName, false)
	if err != nil {
		return nil, err
	}
	m, err := in.row(org, p.ID, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.DB.NewInsert().Model(m).Returning("position").Scan(ctx, &m.Position); err != nil {
		if isUnique(err) {
			return nil, &apperr.Error{Code: apperr.Conflict, Field: "body.user_id", Message: "User " + id + " is already a member of " + poolName}
		}
		return nil, err
	}
	out := toMember(m)
	return &out, nil
}

func members(ctx context.Context, db bun.IDB, org, poolID uuid.UUID) ([]schema.RoutingMember, error) {
	var ms []schema.RoutingMember
	err := db.NewSelect().Model(&ms).Where("org_id = ? AND pool_id = ?", org, poolID).OrderExpr("position").Scan(ctx)
	return ms, err
}

// memberViews is members as the rotation and the API see them.
func memberViews(ctx context.Context, db bun.IDB, org, poolID uuid.UUID) ([]Member, error) {
	rows, err := members(ctx, db, org, poolID)
	if err != nil {
		return nil, err
	}
	ms := make([]Member, len(rows))
	for i := range rows {
		ms[i] = toMember(&rows[i])
	}
	return ms, nil
}

// ListMembers returns a pool's members in join order.
func (s *Service) ListMembers(ctx context.Context, org uuid.UUID, poolName string) ([]Member, error) {
	p, err := pool(ctx, s.DB, org, poolName, false)
	if err != nil {
		return nil, err
	}
	return memberViews(ctx, s.DB, org, p.ID)
}

func noMember(poolName, id string) error {
	return &apperr.Error{Code: apperr.NotFound, Field: "user_id", Message: "no member " + id + " in pool " + poolName}
}

// memberID turns a path's user id into its 18-character form (ids are stored that way).
func memberID(id string) string {
	if id18, ok := crm.To18(id); ok {
		return id18
	}
	return id
}

// GetMember returns one member.
func (s *Service) GetMember(ctx context.Context, org uuid.UUID, poolName, userID string) (*Member, error) {
	p, err := pool(ctx, s.DB, org, poolName, false)
	if err != nil {
		return nil, err
	}
	var m schema.RoutingMember
	err = s.DB.NewSelect().Model(&m).Where("org_id = ? AND pool_id = ? AND user_id = ?", org, p.ID, memberID(userID)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noMember(poolName, userID)
	}
	if err != nil {
		return nil, err
	}
	out := toMember(&m)
	return &out, nil
}

// UpdateMember replaces a member's settings; their score and count stay. in.UserID is ignored.
func (s *Service) UpdateMember(ctx context.Context, org uuid.UUID, poolName, userID string, in MemberInput) (*Member, error) {
	in.UserID = memberID(userID)
	if err := in.check(); err != nil {
		return nil, err
	}
	p, err := pool(ctx, s.DB, org, poolName, false)
	if err != nil {
		return nil, err
	}
	m, err := in.row(org, p.ID, s.now())
	if err != nil {
		return nil, err
	}
	err = s.DB.NewUpdate().Model(m).
		Column("weight", "status", "out_of_office_until", "cap_day", "cap_week", "working_hours", "updated_at").
		Where("org_id = ? AND pool_id = ? AND user_id = ?", org, p.ID, in.UserID).
		Returning("position, current_weight, assigned, created_at").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noMember(poolName, userID)
	}
	if err != nil {
		return nil, err
	}
	out := toMember(m)
	return &out, nil
}

// RemoveMember takes a member out of a pool. Their past assignments stay on record.
func (s *Service) RemoveMember(ctx context.Context, org uuid.UUID, poolName, userID string) error {
	p, err := pool(ctx, s.DB, org, poolName, false)
	if err != nil {
		return err
	}
	res, err := s.DB.NewDelete().Model((*schema.RoutingMember)(nil)).
		Where("org_id = ? AND pool_id = ? AND user_id = ?", org, p.ID, memberID(userID)).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return noMember(poolName, userID)
	}
	return nil
}

// trimmed reports whether s is non-empty after trimming.
func trimmed(s string) bool { return strings.TrimSpace(s) != "" }
