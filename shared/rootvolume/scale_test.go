package rootvolume

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// fleet seeds an account at scale: replaced root volumes, detached, tagged
// and recorded as replaced by a task that succeeded two days ago, and
// snapshots the suite made (perSource of each source volume) whose sources
// are deleted for the first orphanSources of them.
type fleet struct {
	taggedVolumes, sources, perSource, orphanSources int
}

const testTable = "replacements"

// seeded is what a seeded account holds beside EC2's and the table's
// state: the record key, and the tasks EC2 lists.
type seeded struct {
	keyARN, keyID string
	mu            sync.Mutex
	tasks         []types.ReplaceRootVolumeTask
}

func (f fleet) seed(tb testing.TB, cfg aws.Config) *seeded {
	tb.Helper()
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	db := dynamodb.NewFromConfig(cfg)
	replacetest.CreateTable(tb, db, testTable)
	out := &seeded{}
	out.keyARN, out.keyID = replacetest.RecordKey(tb, cfg)
	store := &Store{DB: db, Table: testTable, Sealer: replacetest.Sealer(cfg, out.keyARN)}
	completed := time.Now().Add(-48 * time.Hour).UTC()
	snapTag := awstest.Tag(DefaultSnapshotTag.Key, DefaultSnapshotTag.Value)
	delTag := awstest.Tag(DefaultDeleteTag.Key, DefaultDeleteTag.Value)
	work := make(chan func(), 64)
	var wg sync.WaitGroup
	for range 8 { // moto serves requests concurrently; seeding dominates otherwise
		wg.Go(func() {
			for job := range work {
				job()
			}
		})
	}
	for range f.taggedVolumes {
		work <- func() {
			vol := awstest.CreateVolume(tb, c, delTag)
			task := "replacevol-" + strings.TrimPrefix(vol, "vol-")
			if _, err := store.PutNewReplacement(ctx, Replacement{
				ClientToken: vol, InstanceID: "i-0123456789abcdef0", ReplacedVolumeID: vol, RestoreTo: RestoreLaunchState,
				RequestedAt: completed, State: StateSucceeded, CompletedAt: &completed, TaskID: task,
			}); err != nil {
				tb.Errorf("PutNewReplacement: %v", err)
			}
			out.mu.Lock()
			out.tasks = append(out.tasks, types.ReplaceRootVolumeTask{
				ReplaceRootVolumeTaskId: aws.String(task), InstanceId: aws.String("i-0123456789abcdef0"),
				TaskState: types.ReplaceRootVolumeTaskStateSucceeded, StartTime: aws.String(completed.Add(-5 * time.Minute).Format(time.RFC3339)),
				CompleteTime: aws.String(completed.Format(time.RFC3339)),
				Tags:         []types.Tag{{Key: aws.String(TagSourceVolume), Value: aws.String(vol)}},
			})
			out.mu.Unlock()
		}
	}
	for i := range f.sources {
		work <- func() {
			vol := awstest.CreateVolume(tb, c)
			for range f.perSource {
				if _, err := c.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
					VolumeId: aws.String(vol), Description: aws.String(SnapshotDescription(vol, "i-0123456789abcdef0", "/dev/xvda")),
					TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{snapTag}}},
				}); err != nil {
					tb.Errorf("CreateSnapshot: %v", err)
				}
			}
			if i < f.orphanSources {
				if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(vol)}); err != nil {
					tb.Errorf("DeleteVolume: %v", err)
				}
			}
		}
	}
	close(work)
	wg.Wait()
	return out
}

// newCleaner is the cleanup of account acct (cfg its administrator) as
// root-volume-cleanup builds it, its calls under the function's role as
// infra/sam writes it.
func newCleaner(tb testing.TB, cfg aws.Config, acct string, s *seeded, calls *awstest.Calls, dryRun bool) *Cleaner {
	tb.Helper()
	role := iam.As(tb, cfg, acct, "root-volume.yaml", "RootVolumeCleanupFunction",
		iam.Options{Names: map[string]string{"RootVolumeReplacementsTable": testTable, "RootVolumeRecordKey": s.keyID}})
	fnCfg := role.Config
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	fake := replacetest.New(ec2.NewFromConfig(cfg))
	for _, t := range s.tasks {
		fake.Seed(t)
	}
	tasks := fake.As(ec2.NewFromConfig(fnCfg), role.Authorizer("ec2"))
	return &Cleaner{
		EC2: tasks, Store: &Store{DB: dynamodb.NewFromConfig(fnCfg), Table: testTable, Sealer: replacetest.Sealer(fnCfg, s.keyARN)},
		SnapshotTag: DefaultSnapshotTag, DeleteTag: DefaultDeleteTag, KeepTag: DefaultKeepTag,
		DryRun: dryRun, Now: func() time.Time { return time.Now().Add(time.Hour) }, MinAge: time.Minute, RetainReplaced: 24 * time.Hour,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// The number of Describe calls follows pages and batches, not items: 30
// recorded volumes need one batch and the labelled ones one page; 250
// orphan snapshots need 2 source-volume batches (200 IDs a filter), one
// page of snapshots, one of images; the instances one page.
func TestCleanupDescribesInPagesAndBatches(t *testing.T) {
	cfg, acct := awstest.Moto(t).Config(t)
	seeded := fleet{taggedVolumes: 30, sources: 250, perSource: 1, orphanSources: 250}.seed(t, cfg)

	calls := awstest.NewCalls()
	sum, err := newCleaner(t, cfg, acct, seeded, calls, true).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.VolumesToDelete) != 30 || len(sum.SnapshotsToDelete) != 250 {
		t.Fatalf("plan = %d volumes, %d snapshots, want 30 and 250", len(sum.VolumesToDelete), len(sum.SnapshotsToDelete))
	}
	want := map[string]int{"EC2.DescribeVolumes": 1 + 1 + 2, "EC2.DescribeInstances": 1, "EC2.DescribeSnapshots": 1, "EC2.DescribeImages": 1, "DynamoDB.Scan": 1}
	for op, n := range want {
		if got := calls.Count(op); got != n {
			t.Errorf("%s calls = %d, want %d (all calls: %s)", op, got, n, calls)
		}
	}
}

// BenchmarkCleanup runs the cleanup at each size in BENCH_SIZES (default
// 100, 1,000 and 5,000): n tagged snapshots (n/5 source volumes with 5
// each, half of the sources deleted) and n/5 tagged detached volumes.
// "dry-run" plans only; "first-run" deletes on a freshly seeded account;
// "rerun" runs again over what is left, where nothing is due: it must
// make no write. scripts/bench reads these metrics into its report.
func BenchmarkCleanup(b *testing.B) {
	srv := awstest.Moto(b)
	report := func(b *testing.B, calls *awstest.Calls, runs int) {
		n := float64(runs)
		b.ReportMetric(float64(calls.Total("Describe"))/n, "describe-calls/op")
		b.ReportMetric(float64(calls.Total("Delete"))/n, "delete-calls/op")
		writes := 0
		for _, c := range calls.Writes() {
			writes += c
		}
		b.ReportMetric(float64(writes)/n, "writes/op")
	}
	for _, size := range awstest.BenchSizes(b) {
		f := fleet{taggedVolumes: size / 5, sources: size / 5, perSource: 5, orphanSources: size / 10}
		cfg, acct := srv.Config(b)
		seeded := f.seed(b, cfg)
		b.Run(fmt.Sprintf("resources=%d/dry-run", size), func(b *testing.B) {
			calls := awstest.NewCalls()
			c := newCleaner(b, cfg, acct, seeded, calls, true)
			var planned int
			for b.Loop() {
				sum, err := c.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				planned = len(sum.VolumesToDelete) + len(sum.SnapshotsToDelete)
			}
			report(b, calls, b.N)
			b.ReportMetric(float64(planned), "planned-deletes")
		})
		// The first iteration deletes in the account the dry run planned
		// for; any further one seeds a fresh account (untimed), and the
		// re-run follows on the last of them.
		b.Run(fmt.Sprintf("resources=%d/first-run", size), func(b *testing.B) {
			calls := awstest.NewCalls()
			var deleted int
			for i := range b.N {
				b.StopTimer()
				if i > 0 {
					cfg, acct = srv.Config(b)
					seeded = f.seed(b, cfg)
				}
				c := newCleaner(b, cfg, acct, seeded, calls, false)
				b.StartTimer()
				sum, err := c.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if len(sum.Failed) > 0 {
					b.Fatalf("failed deletes: %v", sum.Failed[0])
				}
				deleted += len(sum.VolumesDeleted) + len(sum.SnapshotsDeleted)
			}
			report(b, calls, b.N)
			b.ReportMetric(float64(deleted)/float64(b.N), "deleted/op")
		})
		b.Run(fmt.Sprintf("resources=%d/rerun", size), func(b *testing.B) {
			calls := awstest.NewCalls()
			c := newCleaner(b, cfg, acct, seeded, calls, false)
			for b.Loop() {
				sum, err := c.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if d := len(sum.VolumesDeleted) + len(sum.SnapshotsDeleted); d != 0 {
					b.Fatalf("re-run deleted %d, want 0", d)
				}
			}
			report(b, calls, b.N)
		})
	}
}
