package rds

import (
	"strconv"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/pgcluster"
)

func boolStr(v bool) string { return strconv.FormatBool(v) }

func writeTags(b *core.XMLBuf, el string, tags map[string]string) {
	b.Open(el)
	for _, k := range core.SortedKeys(tags) {
		b.Open("Tag")
		b.El("Key", k)
		b.El("Value", tags[k])
		b.End("Tag")
	}
	b.End(el)
}

// writeInstance writes a DBInstance element. r.mu must be held.
func (r *Room) writeInstance(b *core.XMLBuf, in *instanceRec) {
	b.Open("DBInstance")
	b.El("DBInstanceIdentifier", in.ID)
	b.El("DBInstanceClass", in.Class)
	b.El("Engine", in.Engine)
	b.El("DBInstanceStatus", in.Status)
	b.El("MasterUsername", in.MasterUsername)
	if in.DBName != "" {
		b.El("DBName", in.DBName)
	}
	if in.Status != "creating" {
		b.Open("Endpoint")
		b.El("Address", pgcluster.Host)
		b.El("Port", strconv.Itoa(in.Port))
		b.El("HostedZoneId", "Z2R2ITUGPM61AM")
		b.End("Endpoint")
	}
	b.El("AllocatedStorage", strconv.Itoa(in.AllocatedStorage))
	b.El("InstanceCreateTime", core.IsoTime(in.Created))
	b.El("PreferredBackupWindow", "03:00-03:30")
	b.El("BackupRetentionPeriod", strconv.Itoa(in.BackupRetention))
	b.Open("VpcSecurityGroups")
	for _, sg := range in.SecurityGroups {
		b.Open("VpcSecurityGroupMembership")
		b.El("VpcSecurityGroupId", sg)
		b.El("Status", "active")
		b.End("VpcSecurityGroupMembership")
	}
	b.End("VpcSecurityGroups")
	if g := r.st.SubnetGroups[key(in.Region, in.SubnetGroup)]; g != nil {
		writeSubnetGroup(b, g)
	}
	b.El("AvailabilityZone", in.AZ)
	b.El("PreferredMaintenanceWindow", "sun:05:00-sun:05:30")
	b.WriteString("<PendingModifiedValues/>")
	b.El("MultiAZ", "false")
	b.El("EngineVersion", in.EngineVersion)
	b.El("AutoMinorVersionUpgrade", "true")
	b.El("LicenseModel", "postgresql-license")
	b.El("PubliclyAccessible", boolStr(in.PubliclyAccessible))
	b.El("StorageType", in.StorageType)
	b.El("DbInstancePort", "0")
	b.El("StorageEncrypted", boolStr(in.Encrypted))
	if in.KmsKeyID != "" {
		b.El("KmsKeyId", in.KmsKeyID)
	}
	b.El("DbiResourceId", in.ResourceID)
	b.El("CopyTagsToSnapshot", boolStr(in.CopyTagsToSnapshot))
	b.El("DBInstanceArn", in.ARN)
	b.El("IAMDatabaseAuthenticationEnabled", "false")
	b.El("DeletionProtection", boolStr(in.DeletionProtection))
	writeTags(b, "TagList", in.Tags)
	if in.SecretARN != "" {
		b.Open("MasterUserSecret")
		b.El("SecretArn", in.SecretARN)
		b.El("SecretStatus", "active")
		b.El("KmsKeyId", in.SecretKmsKeyID)
		b.End("MasterUserSecret")
	}
	b.End("DBInstance")
}

func writeSnapshot(b *core.XMLBuf, s *snapshotRec) {
	b.Open("DBSnapshot")
	b.El("DBSnapshotIdentifier", s.ID)
	b.El("DBInstanceIdentifier", s.InstanceID)
	b.El("SnapshotCreateTime", core.IsoTime(s.Created))
	b.El("Engine", s.Engine)
	b.El("AllocatedStorage", strconv.Itoa(s.AllocatedStorage))
	b.El("Status", s.Status)
	b.El("Port", strconv.Itoa(s.Port))
	b.El("AvailabilityZone", s.AZ)
	if s.VpcID != "" {
		b.El("VpcId", s.VpcID)
	}
	b.El("InstanceCreateTime", core.IsoTime(s.InstanceCreated))
	b.El("MasterUsername", s.MasterUsername)
	b.El("EngineVersion", s.EngineVersion)
	b.El("LicenseModel", "postgresql-license")
	b.El("SnapshotType", s.Type)
	percent := "100"
	if s.Status == "creating" {
		percent = "0"
	}
	b.El("PercentProgress", percent)
	b.El("StorageType", s.StorageType)
	b.El("Encrypted", boolStr(s.Encrypted))
	if s.KmsKeyID != "" {
		b.El("KmsKeyId", s.KmsKeyID)
	}
	b.El("DBSnapshotArn", s.ARN)
	b.El("IAMDatabaseAuthenticationEnabled", "false")
	b.El("DbiResourceId", s.ResourceID)
	writeTags(b, "TagList", s.Tags)
	b.El("OriginalSnapshotCreateTime", core.IsoTime(s.Created))
	b.El("SnapshotTarget", "region")
	b.End("DBSnapshot")
}

func writeSubnetGroup(b *core.XMLBuf, g *subnetGroupRec) {
	b.Open("DBSubnetGroup")
	b.El("DBSubnetGroupName", g.Name)
	b.El("DBSubnetGroupDescription", g.Description)
	b.El("VpcId", g.VpcID)
	b.El("SubnetGroupStatus", "Complete")
	b.Open("Subnets")
	for _, s := range g.Subnets {
		b.Open("Subnet")
		b.El("SubnetIdentifier", s.ID)
		b.WriteString("<SubnetAvailabilityZone><Name>" + s.AZ + "</Name></SubnetAvailabilityZone>")
		b.El("SubnetStatus", "Active")
		b.End("Subnet")
	}
	b.End("Subnets")
	b.El("DBSubnetGroupArn", g.ARN)
	b.End("DBSubnetGroup")
}
