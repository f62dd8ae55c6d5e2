package localcloud

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rudderctl/rudderctl/internal/testenv"
)

// rdsDelays keep the RDS statuses observable but short.
var rdsDelays = Delays{Active: 150 * time.Millisecond, Update: 150 * time.Millisecond, RolePropagation: -1, RDS: 300 * time.Millisecond}

func needPostgres(t *testing.T) {
	t.Helper()
	testenv.LookPath(t, "initdb", "RDS instances are real PostgreSQL 15 clusters")
	testenv.LookPath(t, "postgres", "RDS instances are real PostgreSQL 15 clusters")
}

func rdsClients(c *Cloud) (*rds.Client, *sm.Client) {
	cfg := sdk(c, false).cfg
	cfg.Region = "us-east-1"
	return rds.NewFromConfig(cfg), sm.NewFromConfig(cfg)
}

// defaultNetwork is the us-east-1 default VPC's subnets and default security group.
func defaultNetwork(t *testing.T, c *Cloud) (subnets []string, sg string) {
	t.Helper()
	cfg := sdk(c, false).cfg
	cfg.Region = "us-east-1"
	cl := ec2.NewFromConfig(cfg)
	out, err := cl.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{ec2Filter("group-name", "default")}})
	must(t, err)
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("default security groups: %v", out.SecurityGroups)
	}
	return defaultSubnets(t, cl), aws.ToString(out.SecurityGroups[0].GroupId)
}

// masterCredentials reads the managed master secret as an application does.
func masterCredentials(t *testing.T, smc *sm.Client, arn string) (user, password string) {
	t.Helper()
	v, err := smc.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(v.SecretString)), &m); err != nil || m["username"] == "" || m["password"] == "" {
		t.Fatalf("managed secret is not {username, password}: %v", err)
	}
	return m["username"], m["password"]
}

func connectInstance(t *testing.T, db *rdstypes.DBInstance, user, password string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port = aws.ToString(db.Endpoint.Address), uint16(aws.ToInt32(db.Endpoint.Port))
	cfg.User, cfg.Password, cfg.Database = user, password, aws.ToString(db.DBName)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect to %s:%d: %v", cfg.Host, cfg.Port, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func describeOne(t *testing.T, cl *rds.Client, id string) *rdstypes.DBInstance {
	t.Helper()
	out, err := cl.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return &out.DBInstances[0]
}

// TestRDSInstanceSnapshotRestore: an instance is a real database reached with the
// password from its managed secret; deletion protection refuses the delete; a final
// snapshot keeps the data, a restore brings it back, and a cloud restart keeps it running.
func TestRDSInstanceSnapshotRestore(t *testing.T) {
	needPostgres(t)
	dir := t.TempDir()
	c := startCloud(t, Options{StateDir: dir, Delays: rdsDelays})
	cl, smc := rdsClients(c)
	ctx := context.Background()

	subnets, sg := defaultNetwork(t, c)
	if _, err := cl.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("nodes"),
		DBSubnetGroupDescription: aws.String("node databases"), SubnetIds: subnets[:2]}); err != nil {
		t.Fatal(err)
	}
	created, err := cl.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String("Node-1"), Engine: aws.String("postgres"), EngineVersion: aws.String("15.5"),
		DBInstanceClass: aws.String("db.t4g.micro"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("rudder"),
		ManageMasterUserPassword: aws.Bool(true), DBName: aws.String("jobsdb"), DBSubnetGroupName: aws.String("nodes"),
		VpcSecurityGroupIds: []string{sg}, PubliclyAccessible: aws.Bool(false), StorageEncrypted: aws.Bool(true),
		BackupRetentionPeriod: aws.Int32(7), DeletionProtection: aws.Bool(true), CopyTagsToSnapshot: aws.Bool(true),
		Tags: []rdstypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("s1")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	db := created.DBInstance
	if aws.ToString(db.DBInstanceStatus) != "creating" || aws.ToString(db.DBInstanceIdentifier) != "node-1" || db.MasterUserSecret == nil {
		t.Fatalf("create answered %+v", db)
	}
	if _, err := cl.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("node-1"), Engine: aws.String("postgres"),
		DBInstanceClass: aws.String("db.t4g.micro"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("u"), MasterUserPassword: aws.String("password1")}); errCode(err) != "DBInstanceAlreadyExists" {
		t.Fatalf("second create: %v", err)
	}
	if err := rds.NewDBInstanceAvailableWaiter(cl).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("node-1")}, 3*time.Minute,
		func(o *rds.DBInstanceAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
		}); err != nil {
		t.Fatal(err)
	}
	db = describeOne(t, cl, "node-1")
	if aws.ToString(db.Endpoint.Address) != "127.0.0.1" || aws.ToBool(db.PubliclyAccessible) || !aws.ToBool(db.StorageEncrypted) ||
		aws.ToString(db.KmsKeyId) == "" || !aws.ToBool(db.DeletionProtection) || aws.ToString(db.DBSubnetGroup.DBSubnetGroupName) != "nodes" ||
		!strings.HasPrefix(aws.ToString(db.DBSubnetGroup.VpcId), "vpc-") || aws.ToString(db.VpcSecurityGroups[0].VpcSecurityGroupId) != sg {
		t.Fatalf("instance %+v", db)
	}
	user, password := masterCredentials(t, smc, aws.ToString(db.MasterUserSecret.SecretArn))
	if _, err := connectInstance(t, db, user, password).Exec(ctx, "CREATE TABLE jobs (id int, payload text); INSERT INTO jobs VALUES (1, 'kept')"); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, "postgres://rudder:wrong@127.0.0.1:"+strconv.Itoa(int(aws.ToInt32(db.Endpoint.Port)))+"/jobsdb?sslmode=disable"); err == nil {
		t.Fatal("a wrong password connected")
	}

	// Deletion protection refuses; turned off, the delete leaves a final snapshot.
	if _, err := cl.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("node-1"), FinalDBSnapshotIdentifier: aws.String("node-1-final")}); errCode(err) != "InvalidParameterCombination" {
		t.Fatalf("delete with deletion protection: %v", err)
	}
	if _, err := cl.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("node-1"), DeletionProtection: aws.Bool(false), ApplyImmediately: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	del, err := cl.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("node-1"), FinalDBSnapshotIdentifier: aws.String("node-1-final")})
	if err != nil || aws.ToString(del.DBInstance.DBInstanceStatus) != "deleting" {
		t.Fatalf("delete: %v %v", del, err)
	}
	if err := rds.NewDBInstanceDeletedWaiter(cl).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("node-1")}, 3*time.Minute,
		func(o *rds.DBInstanceDeletedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
		}); err != nil {
		t.Fatal(err)
	}
	var nf *rdstypes.DBInstanceNotFoundFault
	if _, err := cl.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("node-1")}); !errors.As(err, &nf) {
		t.Fatalf("describe a deleted instance: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rds", "us-east-1", "instances", "node-1")); !os.IsNotExist(err) {
		t.Fatalf("the deleted instance's cluster directory is still there: %v", err)
	}
	if _, err := smc.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: db.MasterUserSecret.SecretArn}); errCode(err) != "ResourceNotFoundException" {
		t.Fatalf("the managed secret outlived its instance: %v", err)
	}
	snaps, err := cl.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("node-1")})
	if err != nil || len(snaps.DBSnapshots) != 1 {
		t.Fatalf("snapshots: %v %v", snaps, err)
	}
	snap := snaps.DBSnapshots[0]
	if aws.ToString(snap.Status) != "available" || !aws.ToBool(snap.Encrypted) || len(snap.TagList) != 1 {
		t.Fatalf("final snapshot %+v", snap)
	}

	// Restore: a new instance with the snapshot's data and a new managed password.
	if _, err := cl.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("node-1b"),
		DBSnapshotIdentifier: aws.String("node-1-final"), DBInstanceClass: aws.String("db.t4g.micro"), DBSubnetGroupName: aws.String("nodes"),
		ManageMasterUserPassword: aws.Bool(true), DeletionProtection: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBInstanceAvailableWaiter(cl).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("node-1b")}, 3*time.Minute,
		func(o *rds.DBInstanceAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
		}); err != nil {
		t.Fatal(err)
	}
	restored := describeOne(t, cl, "node-1b")
	user2, password2 := masterCredentials(t, smc, aws.ToString(restored.MasterUserSecret.SecretArn))
	if password2 == password {
		t.Fatal("the restored instance kept the old managed password")
	}
	readBack := func(db *rdstypes.DBInstance) string {
		var payload string
		if err := connectInstance(t, db, user2, password2).QueryRow(ctx, "SELECT payload FROM jobs WHERE id = 1").Scan(&payload); err != nil {
			t.Fatal(err)
		}
		return payload
	}
	if got := readBack(restored); got != "kept" {
		t.Fatalf("restored data: %q", got)
	}

	// A restart of the cloud brings the instance back, with its data, on its port.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := startCloud(t, Options{StateDir: dir, Delays: rdsDelays})
	cl2, _ := rdsClients(c2)
	again := describeOne(t, cl2, "node-1b")
	if aws.ToString(again.DBInstanceStatus) != "available" || aws.ToInt32(again.Endpoint.Port) != aws.ToInt32(restored.Endpoint.Port) {
		t.Fatalf("after a restart: %+v", again)
	}
	if got := readBack(again); got != "kept" {
		t.Fatalf("data after a restart: %q", got)
	}
	// The AWS CLI (botocore, as boto3) reads the instance, the snapshot and the secret.
	run := awsCLI(t, c2.Endpoint())
	dbs := run("rds", "describe-db-instances")["DBInstances"].([]any)
	cliDB := dbs[0].(map[string]any)
	if len(dbs) != 1 || cliDB["DBInstanceIdentifier"] != "node-1b" || cliDB["DBInstanceStatus"] != "available" ||
		cliDB["Endpoint"].(map[string]any)["Port"] != float64(aws.ToInt32(restored.Endpoint.Port)) || cliDB["DeletionProtection"] != true {
		t.Fatalf("aws rds describe-db-instances: %v", dbs)
	}
	if snaps := run("rds", "describe-db-snapshots", "--snapshot-type", "manual")["DBSnapshots"].([]any); len(snaps) != 1 {
		t.Fatalf("aws rds describe-db-snapshots: %v", snaps)
	}
	secretARN := cliDB["MasterUserSecret"].(map[string]any)["SecretArn"].(string)
	var cliCreds map[string]string
	if err := json.Unmarshal([]byte(run("secretsmanager", "get-secret-value", "--secret-id", secretARN)["SecretString"].(string)), &cliCreds); err != nil || cliCreds["password"] != password2 {
		t.Fatalf("aws secretsmanager get-secret-value: %v", err)
	}
	if list := run("secretsmanager", "list-secrets", "--filters", "Key=owning-service,Values=rds")["SecretList"].([]any); len(list) != 1 {
		t.Fatalf("aws secretsmanager list-secrets: %v", list)
	}
	res := c2.Resources("rudderctl:stack", "s1")
	if len(res) != 1 || res[0].Type != "snapshot" {
		t.Fatalf("tagged resources: %+v", res)
	}

	// Another program took the port while the cloud was down: the instance moves to a new one.
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	squatter, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(aws.ToInt32(again.Endpoint.Port)))))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	c3 := startCloud(t, Options{StateDir: dir, Delays: rdsDelays})
	cl3, _ := rdsClients(c3)
	moved := describeOne(t, cl3, "node-1b")
	if aws.ToString(moved.DBInstanceStatus) != "available" || aws.ToInt32(moved.Endpoint.Port) == aws.ToInt32(again.Endpoint.Port) {
		t.Fatalf("with its port taken: %s on %d", aws.ToString(moved.DBInstanceStatus), aws.ToInt32(moved.Endpoint.Port))
	}
	if got := readBack(moved); got != "kept" {
		t.Fatalf("data on the new port: %q", got)
	}
}

// TestRDSRefusesBadInput: bad calls are refused before any cluster is made.
func TestRDSRefusesBadInput(t *testing.T) {
	c := startCloud(t, Options{Delays: rdsDelays})
	cl, _ := rdsClients(c)
	ctx := context.Background()
	subnets, _ := defaultNetwork(t, c)
	base := func() *rds.CreateDBInstanceInput {
		return &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("db1"), Engine: aws.String("postgres"), DBInstanceClass: aws.String("db.t4g.micro"),
			AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("rudder"), MasterUserPassword: aws.String("password1")}
	}
	cases := []struct {
		name string
		mod  func(in *rds.CreateDBInstanceInput)
		code string
	}{
		{"engine", func(in *rds.CreateDBInstanceInput) { in.Engine = aws.String("mysql") }, "InvalidParameterValue"},
		{"version", func(in *rds.CreateDBInstanceInput) { in.EngineVersion = aws.String("16.1") }, "InvalidParameterCombination"},
		{"both passwords", func(in *rds.CreateDBInstanceInput) { in.ManageMasterUserPassword = aws.Bool(true) }, "InvalidParameterCombination"},
		{"no password", func(in *rds.CreateDBInstanceInput) { in.MasterUserPassword = nil }, "InvalidParameterValue"},
		{"short password", func(in *rds.CreateDBInstanceInput) { in.MasterUserPassword = aws.String("short") }, "InvalidParameterValue"},
		{"identifier", func(in *rds.CreateDBInstanceInput) { in.DBInstanceIdentifier = aws.String("1db--x") }, "InvalidParameterValue"},
		{"storage", func(in *rds.CreateDBInstanceInput) { in.AllocatedStorage = aws.Int32(5) }, "InvalidParameterValue"},
		{"subnet group", func(in *rds.CreateDBInstanceInput) { in.DBSubnetGroupName = aws.String("nope") }, "DBSubnetGroupNotFoundFault"},
		{"security group", func(in *rds.CreateDBInstanceInput) { in.VpcSecurityGroupIds = []string{"sg-0000000000000000"} }, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		in := base()
		tc.mod(in)
		if _, err := cl.CreateDBInstance(ctx, in); errCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	out, err := cl.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	if err != nil || len(out.DBInstances) != 0 {
		t.Fatalf("refused calls left instances: %v %v", out, err)
	}
	var snf *rdstypes.DBSnapshotNotFoundFault
	if _, err := cl.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String("none")}); !errors.As(err, &snf) {
		t.Fatalf("describe a missing snapshot: %v", err)
	}
	if _, err := cl.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("x"), DBSnapshotIdentifier: aws.String("none")}); !errors.As(err, &snf) {
		t.Fatalf("restore from a missing snapshot: %v", err)
	}
	if _, err := cl.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("none"), SkipFinalSnapshot: aws.Bool(true)}); errCode(err) != "DBInstanceNotFound" {
		t.Fatalf("delete a missing instance: %v", err)
	}

	// Subnet groups: 25 of them come back over two pages of the SDK's paginator.
	for i := range 25 {
		if _, err := cl.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("g" + strconv.Itoa(i)),
			DBSubnetGroupDescription: aws.String("d"), SubnetIds: subnets[:1]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("g0"),
		DBSubnetGroupDescription: aws.String("d"), SubnetIds: subnets[:1]}); errCode(err) != "DBSubnetGroupAlreadyExists" {
		t.Fatalf("subnet group twice: %v", err)
	}
	if _, err := cl.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("bad"),
		DBSubnetGroupDescription: aws.String("d"), SubnetIds: []string{subnets[0], "subnet-0000000000000000"}}); errCode(err) != "InvalidSubnet" {
		t.Fatalf("subnet group with an unknown subnet: %v", err)
	}
	pages, seen := 0, map[string]bool{}
	p := rds.NewDescribeDBSubnetGroupsPaginator(cl, &rds.DescribeDBSubnetGroupsInput{MaxRecords: aws.Int32(20)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range page.DBSubnetGroups {
			seen[aws.ToString(g.DBSubnetGroupName)] = true
		}
	}
	if pages != 2 || len(seen) != 25 {
		t.Fatalf("%d pages, %d groups", pages, len(seen))
	}
	if _, err := cl.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{MaxRecords: aws.Int32(5)}); errCode(err) != "InvalidParameterValue" {
		t.Fatalf("MaxRecords 5: %v", err)
	}
}
