// Package rdsapi is the part of RDS rudderctl uses: PostgreSQL DB instances with a
// master password managed in Secrets Manager, their snapshots (final snapshots on delete,
// restore), DB subnet groups and tags. Errors are *awserr.Error (errors.Is(err,
// awserr.ErrNotFound), ErrAlreadyExists, ErrConflict for a resource in the wrong state,
// ErrDeletionProtected).
package rdsapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/rudderctl/rudderctl/internal/awsapi/awserr"
)

// ErrDeletionProtected: the instance has deletion protection on (Modify it off first).
var ErrDeletionProtected = errors.New("has deletion protection on")

var codes = awserr.Codes{
	"DBInstanceNotFound":             awserr.ErrNotFound,
	"DBSnapshotNotFound":             awserr.ErrNotFound,
	"DBSubnetGroupNotFoundFault":     awserr.ErrNotFound,
	"DBInstanceAlreadyExists":        awserr.ErrAlreadyExists,
	"DBSnapshotAlreadyExists":        awserr.ErrAlreadyExists,
	"DBSubnetGroupAlreadyExists":     awserr.ErrAlreadyExists,
	"InvalidDBInstanceState":         awserr.ErrConflict,
	"InvalidDBSnapshotState":         awserr.ErrConflict,
	"InvalidDBSubnetGroupStateFault": awserr.ErrConflict,
}

func wrap(what string, err error) error { return awserr.Wrap(what, err, codes) }

// Client is RDS, domain-shaped.
type Client struct {
	sdk *rds.Client
	// PageSize is the MaxRecords of each describe call (20..100); 0 = the default (100).
	PageSize int32
	// Poll is how often the waiters ask; 0 = 15s (the local cloud's tests use less).
	Poll time.Duration
}

// New wraps an SDK client (awsapi.Session builds it).
func New(c *rds.Client) *Client { return &Client{sdk: c} }

func (c *Client) pageSize() *int32 {
	if c.PageSize == 0 {
		return nil
	}
	return aws.Int32(c.PageSize)
}

func (c *Client) poll() (min, max time.Duration) {
	p := c.Poll
	if p == 0 {
		p = 15 * time.Second
	}
	return p, 4 * p
}

// Instance is what DescribeDBInstances says of an instance.
type Instance struct {
	ID                 string
	ARN                string
	Status             string // creating, backing-up, available, modifying, deleting, ...
	Class              string
	Engine             string
	EngineVersion      string
	Address            string // empty while creating
	Port               int32
	MasterUsername     string
	DBName             string
	SecretARN          string // the managed master secret; empty when not managed
	AllocatedStorage   int32
	BackupRetention    int32
	DeletionProtection bool
	PubliclyAccessible bool
	StorageEncrypted   bool
	KmsKeyID           string
	CopyTagsToSnapshot bool
	SubnetGroup        string
	SecurityGroups     []string
	Tags               map[string]string
}

func fromTags(tags []types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func toTags(tags map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range tags {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func fromInstance(d *types.DBInstance) *Instance {
	in := &Instance{ID: aws.ToString(d.DBInstanceIdentifier), ARN: aws.ToString(d.DBInstanceArn), Status: aws.ToString(d.DBInstanceStatus),
		Class: aws.ToString(d.DBInstanceClass), Engine: aws.ToString(d.Engine), EngineVersion: aws.ToString(d.EngineVersion),
		MasterUsername: aws.ToString(d.MasterUsername), DBName: aws.ToString(d.DBName), AllocatedStorage: aws.ToInt32(d.AllocatedStorage),
		BackupRetention: aws.ToInt32(d.BackupRetentionPeriod), DeletionProtection: aws.ToBool(d.DeletionProtection),
		PubliclyAccessible: aws.ToBool(d.PubliclyAccessible), StorageEncrypted: aws.ToBool(d.StorageEncrypted),
		KmsKeyID: aws.ToString(d.KmsKeyId), CopyTagsToSnapshot: aws.ToBool(d.CopyTagsToSnapshot), Tags: fromTags(d.TagList)}
	if d.Endpoint != nil {
		in.Address, in.Port = aws.ToString(d.Endpoint.Address), aws.ToInt32(d.Endpoint.Port)
	}
	if d.MasterUserSecret != nil {
		in.SecretARN = aws.ToString(d.MasterUserSecret.SecretArn)
	}
	if d.DBSubnetGroup != nil {
		in.SubnetGroup = aws.ToString(d.DBSubnetGroup.DBSubnetGroupName)
	}
	for _, sg := range d.VpcSecurityGroups {
		in.SecurityGroups = append(in.SecurityGroups, aws.ToString(sg.VpcSecurityGroupId))
	}
	return in
}

// InstanceSpec is a new PostgreSQL instance. Its master password is always managed by RDS
// in Secrets Manager (Instance.SecretARN).
type InstanceSpec struct {
	ID                 string
	Class              string // db.t4g.micro
	EngineVersion      string // "" = RDS's default for postgres
	AllocatedStorage   int32  // GiB
	MasterUsername     string
	DBName             string
	SubnetGroup        string
	SecurityGroups     []string
	PubliclyAccessible bool
	StorageEncrypted   bool
	KmsKeyID           string // "" = the aws/rds key
	BackupRetention    int32
	DeletionProtection bool
	CopyTagsToSnapshot bool
	Tags               map[string]string
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// CreateInstance creates a postgres instance (status creating); ErrAlreadyExists when the
// identifier is taken.
func (c *Client) CreateInstance(ctx context.Context, s InstanceSpec) (*Instance, error) {
	out, err := c.sdk.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(s.ID), Engine: aws.String("postgres"), EngineVersion: optString(s.EngineVersion),
		DBInstanceClass: aws.String(s.Class), AllocatedStorage: aws.Int32(s.AllocatedStorage), MasterUsername: aws.String(s.MasterUsername),
		ManageMasterUserPassword: aws.Bool(true), DBName: optString(s.DBName), DBSubnetGroupName: optString(s.SubnetGroup),
		VpcSecurityGroupIds: s.SecurityGroups, PubliclyAccessible: aws.Bool(s.PubliclyAccessible), StorageEncrypted: aws.Bool(s.StorageEncrypted),
		KmsKeyId: optString(s.KmsKeyID), BackupRetentionPeriod: aws.Int32(s.BackupRetention), DeletionProtection: aws.Bool(s.DeletionProtection),
		CopyTagsToSnapshot: aws.Bool(s.CopyTagsToSnapshot), Tags: toTags(s.Tags),
	})
	if err != nil {
		return nil, wrap("create DB instance "+s.ID, err)
	}
	return fromInstance(out.DBInstance), nil
}

// FindInstance reads one instance; ErrNotFound when there is none.
func (c *Client) FindInstance(ctx context.Context, id string) (*Instance, error) {
	out, err := c.sdk.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return nil, wrap("read DB instance "+id, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, &awserr.Error{What: "read DB instance " + id, Kind: awserr.ErrNotFound,
			Err: &smithy.GenericAPIError{Code: "DBInstanceNotFound", Message: "DBInstance " + id + " not found."}}
	}
	return fromInstance(&out.DBInstances[0]), nil
}

// ListInstances reads every page of the region's instances.
func (c *Client) ListInstances(ctx context.Context) ([]Instance, error) {
	p := rds.NewDescribeDBInstancesPaginator(c.sdk, &rds.DescribeDBInstancesInput{MaxRecords: c.pageSize()})
	var out []Instance
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list DB instances", err)
		}
		for i := range page.DBInstances {
			out = append(out, *fromInstance(&page.DBInstances[i]))
		}
	}
	return out, nil
}

// WaitAvailable waits (up to maxWait) until the instance is available and returns it; an
// instance that fails or is deleted meanwhile is an error.
func (c *Client) WaitAvailable(ctx context.Context, id string, maxWait time.Duration) (*Instance, error) {
	min, max := c.poll()
	w := rds.NewDBInstanceAvailableWaiter(c.sdk, func(o *rds.DBInstanceAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = min, max })
	out, err := w.WaitForOutput(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, maxWait)
	if err != nil {
		return nil, wrap("wait for DB instance "+id+" to be available", err)
	}
	return fromInstance(&out.DBInstances[0]), nil
}

// WaitDeleted waits (up to maxWait) until the instance is gone.
func (c *Client) WaitDeleted(ctx context.Context, id string, maxWait time.Duration) error {
	min, max := c.poll()
	w := rds.NewDBInstanceDeletedWaiter(c.sdk, func(o *rds.DBInstanceDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = min, max })
	err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, maxWait)
	return wrap("wait for DB instance "+id+" to be deleted", err)
}

// Modify is a change to an instance; nil fields stay as they are. It applies immediately.
type Modify struct {
	DeletionProtection *bool
	BackupRetention    *int32
	CopyTagsToSnapshot *bool
}

// ModifyInstance applies m at once; ErrConflict when the instance is not available.
func (c *Client) ModifyInstance(ctx context.Context, id string, m Modify) (*Instance, error) {
	out, err := c.sdk.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id), ApplyImmediately: aws.Bool(true),
		DeletionProtection: m.DeletionProtection, BackupRetentionPeriod: m.BackupRetention, CopyTagsToSnapshot: m.CopyTagsToSnapshot})
	if err != nil {
		return nil, wrap("modify DB instance "+id, err)
	}
	return fromInstance(out.DBInstance), nil
}

// DeleteInstance deletes an instance, leaving the snapshot finalSnapshot ("" = none).
// ErrNotFound when it is gone already, ErrDeletionProtected when protected, ErrConflict
// when it is busy, ErrAlreadyExists when the snapshot name is taken.
func (c *Client) DeleteInstance(ctx context.Context, id, finalSnapshot string) error {
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}
	if finalSnapshot == "" {
		in.SkipFinalSnapshot = aws.Bool(true)
	} else {
		in.FinalDBSnapshotIdentifier = aws.String(finalSnapshot)
	}
	_, err := c.sdk.DeleteDBInstance(ctx, in)
	werr := wrap("delete DB instance "+id, err)
	var e *awserr.Error
	if errors.As(werr, &e) && e.Code() == "InvalidParameterCombination" && isDeletionProtection(err) {
		e.Kind = ErrDeletionProtected
	}
	return werr
}

func isDeletionProtection(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.ErrorMessage()), "protect")
}

// Reboot restarts an instance's database.
func (c *Client) Reboot(ctx context.Context, id string) error {
	_, err := c.sdk.RebootDBInstance(ctx, &rds.RebootDBInstanceInput{DBInstanceIdentifier: aws.String(id)})
	return wrap("reboot DB instance "+id, err)
}

// Snapshot is what DescribeDBSnapshots says of a snapshot.
type Snapshot struct {
	ID         string
	ARN        string
	InstanceID string
	Status     string // creating, available, ...
	Type       string // manual
	Encrypted  bool
	Created    time.Time
	Tags       map[string]string
}

func fromSnapshot(s *types.DBSnapshot) Snapshot {
	return Snapshot{ID: aws.ToString(s.DBSnapshotIdentifier), ARN: aws.ToString(s.DBSnapshotArn), InstanceID: aws.ToString(s.DBInstanceIdentifier),
		Status: aws.ToString(s.Status), Type: aws.ToString(s.SnapshotType), Encrypted: aws.ToBool(s.Encrypted),
		Created: aws.ToTime(s.SnapshotCreateTime), Tags: fromTags(s.TagList)}
}

// CreateSnapshot takes a manual snapshot of an available instance.
func (c *Client) CreateSnapshot(ctx context.Context, instanceID, snapshotID string, tags map[string]string) (*Snapshot, error) {
	out, err := c.sdk.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(instanceID),
		DBSnapshotIdentifier: aws.String(snapshotID), Tags: toTags(tags)})
	if err != nil {
		return nil, wrap("snapshot DB instance "+instanceID, err)
	}
	s := fromSnapshot(out.DBSnapshot)
	return &s, nil
}

// FindSnapshot reads one snapshot; ErrNotFound when there is none.
func (c *Client) FindSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	out, err := c.sdk.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
	if err != nil {
		return nil, wrap("read DB snapshot "+id, err)
	}
	if len(out.DBSnapshots) == 0 {
		return nil, &awserr.Error{What: "read DB snapshot " + id, Kind: awserr.ErrNotFound,
			Err: &smithy.GenericAPIError{Code: "DBSnapshotNotFound", Message: "DBSnapshot " + id + " not found."}}
	}
	s := fromSnapshot(&out.DBSnapshots[0])
	return &s, nil
}

// ListSnapshots reads every page of the snapshots of an instance ("" = all).
func (c *Client) ListSnapshots(ctx context.Context, instanceID string) ([]Snapshot, error) {
	p := rds.NewDescribeDBSnapshotsPaginator(c.sdk, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: optString(instanceID), MaxRecords: c.pageSize()})
	var out []Snapshot
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("list DB snapshots", err)
		}
		for i := range page.DBSnapshots {
			out = append(out, fromSnapshot(&page.DBSnapshots[i]))
		}
	}
	return out, nil
}

// WaitSnapshotAvailable waits (up to maxWait) until the snapshot is available.
func (c *Client) WaitSnapshotAvailable(ctx context.Context, id string, maxWait time.Duration) error {
	min, max := c.poll()
	w := rds.NewDBSnapshotAvailableWaiter(c.sdk, func(o *rds.DBSnapshotAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = min, max })
	err := w.Wait(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)}, maxWait)
	return wrap("wait for DB snapshot "+id+" to be available", err)
}

// DeleteSnapshot deletes a snapshot; ErrNotFound when it is gone already.
func (c *Client) DeleteSnapshot(ctx context.Context, id string) error {
	_, err := c.sdk.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(id)})
	return wrap("delete DB snapshot "+id, err)
}

// RestoreInstance makes a new instance (spec.ID) from a snapshot, with its data, master
// user and database, and a new managed master password. spec's storage, engine, user and
// database name are the snapshot's and are not read.
func (c *Client) RestoreInstance(ctx context.Context, snapshotID string, s InstanceSpec) (*Instance, error) {
	out, err := c.sdk.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(s.ID), DBSnapshotIdentifier: aws.String(snapshotID), DBInstanceClass: optString(s.Class),
		DBSubnetGroupName: optString(s.SubnetGroup), VpcSecurityGroupIds: s.SecurityGroups, PubliclyAccessible: aws.Bool(s.PubliclyAccessible),
		ManageMasterUserPassword: aws.Bool(true), BackupRetentionPeriod: aws.Int32(s.BackupRetention),
		DeletionProtection: aws.Bool(s.DeletionProtection), CopyTagsToSnapshot: aws.Bool(s.CopyTagsToSnapshot), Tags: toTags(s.Tags),
	})
	if err != nil {
		return nil, wrap("restore DB instance "+s.ID+" from snapshot "+snapshotID, err)
	}
	return fromInstance(out.DBInstance), nil
}

// SubnetGroup is a DB subnet group.
type SubnetGroup struct {
	Name    string
	ARN     string
	VpcID   string
	Subnets []string
}

// CreateSubnetGroup makes a DB subnet group; ErrAlreadyExists when the name is taken.
func (c *Client) CreateSubnetGroup(ctx context.Context, name, description string, subnetIDs []string, tags map[string]string) (*SubnetGroup, error) {
	out, err := c.sdk.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String(name),
		DBSubnetGroupDescription: aws.String(description), SubnetIds: subnetIDs, Tags: toTags(tags)})
	if err != nil {
		return nil, wrap("create DB subnet group "+name, err)
	}
	return fromSubnetGroup(out.DBSubnetGroup), nil
}

func fromSubnetGroup(g *types.DBSubnetGroup) *SubnetGroup {
	out := &SubnetGroup{Name: aws.ToString(g.DBSubnetGroupName), ARN: aws.ToString(g.DBSubnetGroupArn), VpcID: aws.ToString(g.VpcId)}
	for _, s := range g.Subnets {
		out.Subnets = append(out.Subnets, aws.ToString(s.SubnetIdentifier))
	}
	return out
}

// FindSubnetGroup reads a DB subnet group; ErrNotFound when there is none.
func (c *Client) FindSubnetGroup(ctx context.Context, name string) (*SubnetGroup, error) {
	out, err := c.sdk.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(name)})
	if err != nil {
		return nil, wrap("read DB subnet group "+name, err)
	}
	if len(out.DBSubnetGroups) == 0 {
		return nil, &awserr.Error{What: "read DB subnet group " + name, Kind: awserr.ErrNotFound,
			Err: &smithy.GenericAPIError{Code: "DBSubnetGroupNotFoundFault", Message: "DBSubnetGroup '" + name + "' not found."}}
	}
	return fromSubnetGroup(&out.DBSubnetGroups[0]), nil
}

// DeleteSubnetGroup deletes a DB subnet group; ErrConflict while an instance uses it.
func (c *Client) DeleteSubnetGroup(ctx context.Context, name string) error {
	_, err := c.sdk.DeleteDBSubnetGroup(ctx, &rds.DeleteDBSubnetGroupInput{DBSubnetGroupName: aws.String(name)})
	return wrap("delete DB subnet group "+name, err)
}

// Tags are the tags of an RDS resource (instance, snapshot, subnet group) by ARN.
func (c *Client) Tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.sdk.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
	if err != nil {
		return nil, wrap("read the tags of "+arn, err)
	}
	return fromTags(out.TagList), nil
}

// Tag adds (or overwrites) tags of an RDS resource.
func (c *Client) Tag(ctx context.Context, arn string, tags map[string]string) error {
	_, err := c.sdk.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String(arn), Tags: toTags(tags)})
	return wrap("tag "+arn, err)
}

// Untag removes tags of an RDS resource by key.
func (c *Client) Untag(ctx context.Context, arn string, keys ...string) error {
	_, err := c.sdk.RemoveTagsFromResource(ctx, &rds.RemoveTagsFromResourceInput{ResourceName: aws.String(arn), TagKeys: keys})
	return wrap("untag "+arn, err)
}
