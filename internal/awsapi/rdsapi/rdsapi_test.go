package rdsapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/jackc/pgx/v5"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
	"github.com/rudderctl/rudderctl/internal/awsapi/awstest"
	"github.com/rudderctl/rudderctl/internal/awsapi/rdsapi"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/testenv"
)

// TestInstanceLifecycle: create with a managed password, wait, connect with the secret's
// password, refuse a protected delete, delete with a final snapshot, restore it.
func TestInstanceLifecycle(t *testing.T) {
	testenv.LookPath(t, "initdb", "RDS instances are real PostgreSQL 15 clusters")
	testenv.LookPath(t, "postgres", "RDS instances are real PostgreSQL 15 clusters")
	_, s := awstest.Start(t, localcloud.Delays{RDS: 200 * time.Millisecond})
	ctx := context.Background()
	c := s.RDS()
	c.Poll, c.PageSize = 100*time.Millisecond, 20
	if _, err := c.FindInstance(ctx, "n1"); !errors.Is(err, awserr.ErrNotFound) {
		t.Fatalf("find before create: %v", err)
	}
	if _, err := c.CreateSubnetGroup(ctx, "nodes", "node databases", defaultSubnets(t), nil); err != nil {
		t.Fatal(err)
	}
	spec := rdsapi.InstanceSpec{ID: "n1", Class: "db.t4g.micro", AllocatedStorage: 20, MasterUsername: "rudder", DBName: "jobsdb",
		SubnetGroup: "nodes", StorageEncrypted: true, BackupRetention: 7, DeletionProtection: true, Tags: map[string]string{"rudderctl:stack": "s1"}}
	if _, err := c.CreateInstance(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInstance(ctx, spec); !errors.Is(err, awserr.ErrAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
	in, err := c.WaitAvailable(ctx, "n1", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if in.Address != "127.0.0.1" || in.Port == 0 || in.SecretARN == "" || !in.StorageEncrypted || in.SubnetGroup != "nodes" {
		t.Fatalf("instance %+v", in)
	}
	creds, err := s.Secrets().GetJSON(ctx, in.SecretARN)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, in, creds["username"], creds["password"])
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := c.DeleteInstance(ctx, "n1", "n1-final"); !errors.Is(err, rdsapi.ErrDeletionProtected) {
		t.Fatalf("delete a protected instance: %v", err)
	}
	off := false
	if _, err := c.ModifyInstance(ctx, "n1", rdsapi.Modify{DeletionProtection: &off}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteInstance(ctx, "n1", "n1-final"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteInstance(ctx, "n1", "n1-final2"); !errors.Is(err, awserr.ErrConflict) {
		t.Fatalf("delete while deleting: %v", err)
	}
	if err := c.WaitDeleted(ctx, "n1", 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSnapshotAvailable(ctx, "n1-final", time.Minute); err != nil {
		t.Fatal(err)
	}
	snaps, err := c.ListSnapshots(ctx, "n1")
	if err != nil || len(snaps) != 1 || snaps[0].Status != "available" {
		t.Fatalf("snapshots: %+v %v", snaps, err)
	}
	if err := c.DeleteSubnetGroup(ctx, "nodes"); err != nil {
		t.Fatal(err)
	}
	spec.ID, spec.SubnetGroup, spec.DeletionProtection = "n1b", "", false
	if _, err := c.RestoreInstance(ctx, "n1-final", spec); err != nil {
		t.Fatal(err)
	}
	in, err = c.WaitAvailable(ctx, "n1b", 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	creds, err = s.Secrets().GetJSON(ctx, in.SecretARN)
	if err != nil {
		t.Fatal(err)
	}
	var v string
	if err := connect(t, in, creds["username"], creds["password"]).QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("restored data: %q %v", v, err)
	}
	tags, err := c.Tags(ctx, in.ARN)
	if err != nil || tags["rudderctl:stack"] != "s1" {
		t.Fatalf("tags: %v %v", tags, err)
	}
	list, err := c.ListInstances(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
}

// defaultSubnets are the default VPC's subnets (the EC2 room), read with the SDK.
func defaultSubnets(t *testing.T) []string {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(awstest.Region))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(out.Subnets) < 2 {
		t.Fatalf("default subnets: %v %v", out, err)
	}
	return []string{aws.ToString(out.Subnets[0].SubnetId), aws.ToString(out.Subnets[1].SubnetId)}
}

func connect(t *testing.T, in *rdsapi.Instance, user, password string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = in.Address, uint16(in.Port), user, password, in.DBName
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
