package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each run writes the alarms it created, deleted and left alone, flushed
// before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	fl := seedFleet(t, f)
	var out bytes.Buffer
	f.h.metrics = metrics.New("alarms-fn", &out)
	schedule := sample(t, "scheduled.json", "")
	if _, err := f.h.Handle(context.Background(), schedule); err != nil {
		t.Fatal(err)
	}
	emf.Want(t, out.Bytes(), "alarms-fn", map[string]float64{"AlarmsCreated": 8, "AlarmsDeleted": 0})

	if _, err := f.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{fl.app2}}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := f.h.Handle(context.Background(), schedule); err != nil {
		t.Fatal(err)
	}
	emf.Want(t, out.Bytes(), "alarms-fn", map[string]float64{"AlarmsDeleted": 2, "AlarmsUnchanged": 6, "AlarmsCreated": 0})

	out.Reset()
	if _, err := f.h.Handle(context.Background(), []byte(`{"instanceId": 7}`)); err == nil {
		t.Fatal("Handle(bad payload) = nil error")
	}
	if out.Len() != 0 {
		t.Errorf("metric lines for a rejected payload: %s, want none", out.String())
	}
}
