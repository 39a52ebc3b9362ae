package routing

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/lanternhq/lantern/internal/apperr"
	"github.com/lanternhq/lantern/internal/crm"
	"github.com/lanternhq/lantern/internal/testenv"
	"github.com/lanternhq/lantern/schema"
)

type fixture struct {
	db    *bun.DB
	dsn   string
	org   uuid.UUID
	svc   *Service
	users []string
	leads []string
}

// setup makes an org with nUsers CRM Users and nLeads Leads, and a service over it.
func setup(t testing.TB, nUsers, nLeads int) *fixture {
	t.Helper()
	ctx := context.Background()
	db, dsn := testenv.Database(t)
	tn := testenv.NewTenant(t, db, 0)
	store := &crm.Local{DB: db}
	f := &fixture{db: db, dsn: dsn, org: tn.OrgID, svc: &Service{DB: db, CRM: store}}
	for i := range nUsers {
		u, err := store.Create(ctx, tn.OrgID, crm.User, crm.Input{Fields: map[string]any{"LastName": fmt.Sprintf("Rep %d", i), "Email": fmt.Sprintf("rep%d@example.com", i), "IsActive": true}})
		if err != nil {
			t.Fatal(err)
		}
		f.users = append(f.users, u.ID)
	}
	for done := 0; done < nLeads; done += crm.MaxBulk {
		var ins []crm.Input
		for i := done; i < min(nLeads, done+crm.MaxBulk); i++ {
			ins = append(ins, crm.Input{Fields: map[string]any{"LastName": fmt.Sprintf("Lead %d", i), "Company": "Acme"}})
		}
		res, err := store.BulkUpsert(ctx, tn.OrgID, crm.Lead, ins)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			f.leads = append(f.leads, r.Record.ID)
		}
	}
	return f
}

func (f *fixture) pool(t testing.TB, name, onReturn string, weights ...int) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.CreatePool(ctx, f.org, PoolInput{Name: name, Objects: []string{crm.Lead}, OnReturn: onReturn}); err != nil {
		t.Fatal(err)
	}
	for i, w := range weights {
		if _, err := f.svc.AddMember(ctx, f.org, name, MemberInput{UserID: f.users[i], Weight: w}); err != nil {
			t.Fatal(err)
		}
	}
}

func wantField(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Code != code || ae.Field != field {
		t.Fatalf("got %v, want %s on %s", err, code, field)
	}
}

func TestPoolsAndMembersRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 3, 1)
	f.pool(t, "SDR_WEST_01", "", 1)
	_, err := f.svc.CreatePool(ctx, f.org, PoolInput{Name: "SDR_WEST_01", Objects: []string{crm.Lead}})
	wantField(t, err, apperr.Conflict, "body.name")
	_, err = f.svc.CreatePool(ctx, f.org, PoolInput{Name: "x", Objects: []string{"User"}})
	wantField(t, err, apperr.Invalid, "body.objects")
	_, err = f.svc.CreatePool(ctx, f.org, PoolInput{Name: "bad name!", Objects: []string{crm.Lead}})
	wantField(t, err, apperr.Invalid, "body.name")

	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: f.users[0], Weight: 1})
	wantField(t, err, apperr.Conflict, "body.user_id")
	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: f.users[1], Weight: 0})
	wantField(t, err, apperr.Invalid, "body.weight")
	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: crm.NewID(crm.User), Weight: 1})
	wantField(t, err, apperr.Invalid, "body.user_id")
	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: f.leads[0], Weight: 1})
	wantField(t, err, apperr.Invalid, "body.user_id")
	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: f.users[1], Weight: 1,
		WorkingHours: &WorkingHours{TimeZone: "Nowhere/Atlantis", Days: []string{"mon"}, Start: "09:00", End: "17:00"}})
	wantField(t, err, apperr.Invalid, "body.working_hours.time_zone")
	_, err = f.svc.AddMember(ctx, f.org, "SDR_WEST_01", MemberInput{UserID: f.users[1], Weight: 1, Status: OutOfOffice})
	wantField(t, err, apperr.Invalid, "body.out_of_office_until")
	_, err = f.svc.AddMember(ctx, f.org, "NOPE", MemberInput{UserID: f.users[1], Weight: 1})
	wantField(t, err, apperr.NotFound, "pool")

	// Another org sees neither the pool nor the users.
	other := testenv.NewTenant(t, f.db, 0)
	_, err = f.svc.GetPool(ctx, other.OrgID, "SDR_WEST_01")
	wantField(t, err, apperr.NotFound, "pool")
	f.svc.CreatePool(ctx, other.OrgID, PoolInput{Name: "SDR_WEST_01", Objects: []string{crm.Lead}}) //nolint:errcheck
	_, err = f.svc.AddMember(ctx, other.OrgID, "SDR_WEST_01", MemberInput{UserID: f.users[1], Weight: 1})
	wantField(t, err, apperr.Invalid, "body.user_id")

	// Assign: a pool that does not serve the object, an unknown record, an unknown pool.
	_, err = f.svc.Assign(ctx, f.org, AssignRequest{Pool: "SDR_WEST_01", Object: crm.Contact, ObjectID: crm.NewID(crm.Contact)})
	if apperr.CodeOf(err) != apperr.NotFound { // the record is looked up first
		t.Fatalf("unknown contact: %v", err)
	}
	_, err = f.svc.Assign(ctx, f.org, AssignRequest{Pool: "SDR_WEST_01", Object: crm.Lead, ObjectID: f.users[0]})
	wantField(t, err, apperr.Invalid, "body.object_id")
	_, err = f.svc.Assign(ctx, f.org, AssignRequest{Pool: "NOPE", Object: crm.Lead, ObjectID: f.leads[0]})
	wantField(t, err, apperr.NotFound, "pool")
}

func TestAssignSetsOwnerLogsAndExplains(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 3, 6)
	f.pool(t, "P", "", 2, 1, 1)
	store := f.svc.CRM
	// Give the first lead an owner so prev_owner shows.
	if _, err := store.Update(ctx, f.org, crm.Lead, f.leads[0], map[string]any{"OwnerId": f.users[2]}, 0); err != nil {
		t.Fatal(err)
	}
	dry, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[0], DryRun: true})
	if err != nil || !dry.Assigned || dry.AssignedTo != f.users[0] || dry.Sequence != 1 || !strings.Contains(dry.Why, "highest score") {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if r, _ := store.Get(ctx, f.org, crm.Lead, f.leads[0]); r.Str("OwnerId") != f.users[2] {
		t.Fatal("dry run changed the owner")
	}
	var got []string
	for i, lead := range f.leads[:4] {
		res, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: lead, IdempotencyKey: fmt.Sprintf("k-%d", i), RequestID: "req_t"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sequence != int64(i+1) {
			t.Fatalf("sequence %d at %d", res.Sequence, i)
		}
		got = append(got, res.AssignedTo)
		if r, _ := store.Get(ctx, f.org, crm.Lead, lead); r.Str("OwnerId") != res.AssignedTo {
			t.Fatalf("owner %s, assigned %s", r.Str("OwnerId"), res.AssignedTo)
		}
	}
	// Weights 2, 1, 1: A B C A (scores A2 B1 C1 -> A; A0 B2 C2 -> B; A2 B-1 C3 -> C; A4 -> A).
	if want := []string{f.users[0], f.users[1], f.users[2], f.users[0]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	// The same key: the same answer, nothing new.
	again, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[0], IdempotencyKey: "k-0"})
	if err != nil || !again.Replayed || again.Sequence != 1 || again.AssignedTo != f.users[0] || again.PrevOwner != f.users[2] {
		t.Fatalf("replay: %+v %v", again, err)
	}
	_, err = f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[5], IdempotencyKey: "k-0"})
	wantField(t, err, apperr.Conflict, "idempotency_key")

	var logs []schema.RouteLog
	if err := f.db.NewSelect().Model(&logs).Where("org_id = ?", f.org).OrderExpr("sequence").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 4 {
		t.Fatalf("%d route log rows", len(logs))
	}
	l := logs[0]
	if l.Action != "assign" || *l.Pool != "P" || *l.AssignedTo != f.users[0] || *l.PrevOwner != f.users[2] || *l.Sequence != 1 ||
		l.Reason != "round_robin" || l.RequestID != "req_t" || l.IdempotencyKey != "k-0" || l.Object != crm.Lead || l.ObjectID != f.leads[0] {
		t.Fatalf("route log: %+v", l)
	}

	st, err := f.svc.State(ctx, f.org, "P")
	if err != nil {
		t.Fatal(err)
	}
	if st.Pool.LastSequence != 4 || st.Next.Sequence != 5 || st.Next.UserID != f.users[0] || len(st.Members) != 3 || st.Members[0].Assigned != 2 || st.Members[0].CapUsage.Day != 2 {
		t.Fatalf("state: %+v", st)
	}
	for i, m := range st.Members {
		if m.Position <= 0 || (i > 0 && m.Position <= st.Members[i-1].Position) {
			t.Fatalf("positions: %+v", st.Members)
		}
	}
}

func TestAvailabilityCapsAndNobody(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 2, 6)
	f.pool(t, "P", "", 1, 1)
	one := 1
	if _, err := f.svc.UpdateMember(ctx, f.org, "P", f.users[0], MemberInput{Weight: 1, CapDay: &one}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if _, err := f.svc.UpdateMember(ctx, f.org, "P", f.users[1], MemberInput{Weight: 1, Status: OutOfOffice, OutOfOfficeUntil: &until}); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[0]})
	if err != nil || res.AssignedTo != f.users[0] || !strings.Contains(res.Why, "out of office until") {
		t.Fatalf("%+v %v", res, err)
	}
	// Now A is capped and B away: a clear answer, nothing written.
	res, err = f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[1], IdempotencyKey: "nobody"})
	if err != nil || res.Assigned || res.Sequence != 0 || !strings.Contains(res.Why, "nobody is available") || !strings.Contains(res.Why, "daily cap reached (1 of 1") {
		t.Fatalf("nobody: %+v %v", res, err)
	}
	if r, _ := f.svc.CRM.Get(ctx, f.org, crm.Lead, f.leads[1]); r.Str("OwnerId") != "" {
		t.Fatal("owner set though nobody was available")
	}
	p, _ := f.svc.GetPool(ctx, f.org, "P")
	if p.LastSequence != 1 {
		t.Fatalf("sequence moved to %d", p.LastSequence)
	}
}

func TestResets(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 3, 4)
	f.pool(t, "P", "", 1, 1, 1)
	for _, lead := range f.leads[:2] {
		if _, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: lead}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.svc.Reset(ctx, f.org, "P", "restart", "", "")
	wantField(t, err, apperr.Invalid, "body.reason")
	_, err = f.svc.Reset(ctx, f.org, "P", "shuffle", "x", "")
	wantField(t, err, apperr.Invalid, "body.mode")
	r, err := f.svc.Reset(ctx, f.org, "P", Restart, "new quarter", "req_r")
	if err != nil || r.Sequence != 2 || !strings.Contains(string(r.Before), `"assigned":1`) {
		t.Fatalf("restart: %+v %v", r, err)
	}
	st, _ := f.svc.State(ctx, f.org, "P")
	// Restart: the first member is next again; counts stay.
	if st.Next.UserID != f.users[0] || st.Members[0].Assigned != 1 || st.Members[0].CurrentWeight != 0 || len(st.Resets) != 1 || st.Resets[0].Reason != "new quarter" {
		t.Fatalf("after restart: %+v", st)
	}
	if _, err := f.svc.Reset(ctx, f.org, "P", Rebalance, "rep left", ""); err != nil {
		t.Fatal(err)
	}
	st, _ = f.svc.State(ctx, f.org, "P")
	if st.Members[0].Assigned != 0 || st.Pool.LastSequence != 2 || len(st.Resets) != 2 || st.Resets[0].Mode != Rebalance {
		t.Fatalf("after rebalance: %+v", st)
	}
	// Sequence numbers continue after resets.
	res, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: "P", Object: crm.Lead, ObjectID: f.leads[2]})
	if err != nil || res.Sequence != 3 {
		t.Fatalf("%+v %v", res, err)
	}
}

// checkPool verifies a pool after concurrent assignments: sequences 1..n with no gaps or
// duplicates, member counts that match the assignments, shares within one of the ideal, one
// route log row per assignment, and every record owned by its assignee.
func checkPool(t testing.TB, db bun.IDB, svc *Service, org uuid.UUID, name string, n int) {
	t.Helper()
	ctx := context.Background()
	p, err := svc.GetPool(ctx, org, name)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	if err := db.NewSelect().Model((*schema.RoutingAssignment)(nil)).Column("sequence").Where("org_id = ? AND pool_id = ?", org, p.ID).
		OrderExpr("sequence").Scan(ctx, &seqs); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != n || p.LastSequence != int64(n) {
		t.Fatalf("%d assignments, last sequence %d, want %d", len(seqs), p.LastSequence, n)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("sequence %d at position %d", s, i)
		}
	}
	ms, err := svc.ListMembers(ctx, org, name)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, m := range ms {
		total += int64(m.Weight)
	}
	for _, m := range ms {
		var count int
		count, err := db.NewSelect().Model((*schema.RoutingAssignment)(nil)).Where("org_id = ? AND pool_id = ? AND user_id = ?", org, p.ID, m.UserID).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if int64(count) != m.Assigned {
			t.Fatalf("member %s: counter %d, %d assignments", m.UserID, m.Assigned, count)
		}
		ideal := float64(n) * float64(m.Weight) / float64(total)
		if d := float64(m.Assigned) - ideal; d > 1 || d < -1 {
			t.Fatalf("member %s (weight %d): %d assignments, ideal %.2f", m.UserID, m.Weight, m.Assigned, ideal)
		}
	}
	logs, err := db.NewSelect().Model((*schema.RouteLog)(nil)).Where("org_id = ? AND pool = ? AND action = 'assign'", org, name).Count(ctx)
	if err != nil || logs != n {
		t.Fatalf("%d route log rows, want %d (%v)", logs, n, err)
	}
	var wrong int
	if err := db.NewRaw(`SELECT count(*) FROM routing_assignments a JOIN crm_records r ON r.org_id = a.org_id AND r.id = a.object_id
		WHERE a.org_id = ? AND a.pool_id = ? AND r.owner_id <> a.user_id`, org, p.ID).Scan(ctx, &wrong); err != nil || wrong != 0 {
		t.Fatalf("%d records not owned by their assignee (%v)", wrong, err)
	}
}

func TestConcurrentAssignmentsAcrossProcessesAreExact(t *testing.T) {
	ctx := context.Background()
	const n, clients = 2000, 32
	f := setup(t, 10, n)
	f.pool(t, "EQUAL", "", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	f.pool(t, "WEIGHTED", "", 1, 2, 3, 4, 5, 1, 2, 3, 4, 5)
	// A second service on its own connection pool stands for a second API process.
	// Fewer connections than clients: an assignment must never need two at once.
	db2 := schema.Open(f.dsn, 8)
	t.Cleanup(func() { db2.Close() })
	svcs := []*Service{f.svc, {DB: db2, CRM: &crm.Local{DB: db2}}}

	for _, name := range []string{"EQUAL", "WEIGHTED"} {
		var wg sync.WaitGroup
		next := make(chan int)
		errs := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					lead := f.leads[i]
					if name == "WEIGHTED" {
						lead = f.leads[n-1-i] // other records: each record once per pool
					}
					if _, err := svcs[c%2].Assign(ctx, f.org, AssignRequest{Pool: name, Object: crm.Lead, ObjectID: lead}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		for i := range n / 2 {
			next <- i
		}
		close(next)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		checkPool(t, f.db, f.svc, f.org, name, n/2)
	}

	// The same idempotency key from many clients at once: one assignment, the same answer.
	var wg sync.WaitGroup
	results := make([]*Result, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := svcs[c%2].Assign(ctx, f.org, AssignRequest{Pool: "EQUAL", Object: crm.Lead, ObjectID: f.leads[n-1], IdempotencyKey: "once"})
			if err != nil {
				t.Error(err)
			}
			results[c] = r
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r == nil || r.Sequence != int64(n/2+1) || r.AssignedTo != results[0].AssignedTo {
			t.Fatalf("same key, different answers: %+v vs %+v", r, results[0])
		}
	}
	checkPool(t, f.db, f.svc, f.org, "EQUAL", n/2+1)
}

func TestReturningMembersCatchUpOrKeepPlace(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 3, 14)
	f.pool(t, "KEEP", KeepPlace, 1, 1, 1)
	f.pool(t, "CATCH", CatchUp, 1, 1, 1)
	got := map[string][]string{}
	next := 0
	assign := func(pool string, n int) {
		for range n {
			res, err := f.svc.Assign(ctx, f.org, AssignRequest{Pool: pool, Object: crm.Lead, ObjectID: f.leads[next]})
			next++
			if err != nil || !res.Assigned {
				t.Fatalf("%+v %v", res, err)
			}
			got[pool] = append(got[pool], res.AssignedTo)
		}
	}
	for _, pool := range []string{"KEEP", "CATCH"} {
		if _, err := f.svc.UpdateMember(ctx, f.org, pool, f.users[1], MemberInput{Weight: 1, Status: Paused}); err != nil {
			t.Fatal(err)
		}
		assign(pool, 4)
		if _, err := f.svc.UpdateMember(ctx, f.org, pool, f.users[1], MemberInput{Weight: 1}); err != nil {
			t.Fatal(err)
		}
		assign(pool, 3)
	}
	a, b, c := f.users[0], f.users[1], f.users[2]
	// Keep place: B rejoins the rotation at its old score (0, a tie broken by join order), one turn per round.
	if want := []string{a, c, a, c, a, b, c}; fmt.Sprint(got["KEEP"]) != fmt.Sprint(want) {
		t.Fatalf("keep_place: %v, want %v", got["KEEP"], want)
	}
	// Catch up: B missed two, so B takes the next two.
	if want := []string{a, c, a, c, b, b, a}; fmt.Sprint(got["CATCH"]) != fmt.Sprint(want) {
		t.Fatalf("catch_up: %v, want %v", got["CATCH"], want)
	}
}
