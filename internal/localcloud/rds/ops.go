package rds

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Ops is the RDS operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateDBInstance", r.with(r.createDBInstance)),
		core.Read("DescribeDBInstances", r.with(r.describeDBInstances)),
		core.Write("ModifyDBInstance", r.onInstance(r.modifyDBInstance)),
		core.Write("DeleteDBInstance", r.onInstance(r.deleteDBInstance)),
		core.Write("RebootDBInstance", r.onInstance(r.rebootDBInstance)),
		core.Write("CreateDBSnapshot", r.onInstance(r.createDBSnapshot)),
		core.Read("DescribeDBSnapshots", r.with(r.describeDBSnapshots)),
		core.Write("DeleteDBSnapshot", r.with(r.deleteDBSnapshot)),
		core.Write("RestoreDBInstanceFromDBSnapshot", r.with(r.restoreDBInstanceFromDBSnapshot)),
		core.Write("CreateDBSubnetGroup", r.with(r.createDBSubnetGroup)),
		core.Read("DescribeDBSubnetGroups", r.with(r.describeDBSubnetGroups)),
		core.Write("DeleteDBSubnetGroup", r.with(r.deleteDBSubnetGroup)),
		core.Write("AddTagsToResource", r.with(r.addTagsToResource)),
		core.Read("ListTagsForResource", r.with(r.listTagsForResource)),
		core.Write("RemoveTagsFromResource", r.with(r.removeTagsFromResource)),
	}
}

// with runs h under the room's lock with the call's form.
func (r *Room) with(h func(f *form)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(&form{q: q})
	}
}

// onInstance is with on the instance DBInstanceIdentifier names.
func (r *Room) onInstance(h func(f *form, in *instanceRec)) func(*core.Request) {
	return r.with(func(f *form) {
		if in := r.instance(f); in != nil {
			h(f, in)
		}
	})
}

// instance finds the instance the call names (by identifier or ARN), or answers
// DBInstanceNotFound.
func (r *Room) instance(f *form) *instanceRec {
	id := idFromARN(f.str("DBInstanceIdentifier"), "db")
	if in := r.st.Instances[key(f.q.Region, id)]; in != nil {
		return in
	}
	sender(f.q, http.StatusNotFound, "DBInstanceNotFound", "DBInstance "+id+" not found.")
	return nil
}

// idFromARN turns arn:aws:rds:region:acct:<kind>:<id> into id (lower case, as RDS keeps
// identifiers); anything else is taken as an identifier.
func idFromARN(s, kind string) string {
	if p := strings.Split(s, ":"); len(p) == 7 && p[0] == "arn" && p[2] == "rds" && p[5] == kind {
		s = p[6]
	}
	return strings.ToLower(s)
}

var identifierRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

func validIdentifier(id string) bool { return len(id) <= 63 && identifierRE.MatchString(id) }

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	dbNameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
)

func validPassword(pw string) bool {
	if len(pw) < 8 || len(pw) > 128 {
		return false
	}
	for _, c := range pw {
		if c < 0x21 || c > 0x7e || c == '/' || c == '"' || c == '@' {
			return false
		}
	}
	return true
}

func (r *Room) arn(region, kind, id string) string {
	return "arn:aws:rds:" + region + ":" + core.AccountID + ":" + kind + ":" + id
}

// defaultKmsKey is the region's aws/rds key, made once.
func (r *Room) defaultKmsKey(region string) string {
	k := r.st.KmsKeys[region]
	if k == "" {
		k = "arn:aws:kms:" + region + ":" + core.AccountID + ":key/" + core.NewRequestID()
		r.st.KmsKeys[region] = k
	}
	return k
}

const defaultEngineVersion = "15.18"

// createSpec is what CreateDBInstance and RestoreDBInstanceFromDBSnapshot share.
type createSpec struct {
	id, class, subnetGroup string
	securityGroups         []string
	public                 bool
	tags                   map[string]string
}

// readCreateSpec reads and checks the parameters both calls share; nil = answered.
func (r *Room) readCreateSpec(f *form) *createSpec {
	sp := &createSpec{id: strings.ToLower(f.str("DBInstanceIdentifier")), class: f.str("DBInstanceClass"),
		subnetGroup: strings.ToLower(f.str("DBSubnetGroupName")), securityGroups: f.list("VpcSecurityGroupIds.VpcSecurityGroupId"),
		tags: f.tags()}
	sp.public = f.boolean("PubliclyAccessible", sp.subnetGroup == "")
	switch {
	case f.bad():
		return nil
	case !validIdentifier(sp.id):
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
		return nil
	case r.st.Instances[key(f.q.Region, sp.id)] != nil:
		sender(f.q, http.StatusBadRequest, "DBInstanceAlreadyExists", "DB instance already exists")
		return nil
	case sp.subnetGroup != "" && r.st.SubnetGroups[key(f.q.Region, sp.subnetGroup)] == nil:
		sender(f.q, http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup '"+sp.subnetGroup+"' not found.")
		return nil
	}
	for _, sg := range sp.securityGroups {
		if r.network == nil {
			break
		}
		if _, ok := r.network.SecurityGroupVPC(f.q.Region, sg); !ok {
			sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "Invalid security group, groupId= "+sg+", groupName=null.")
			return nil
		}
	}
	return sp
}

func (r *Room) createDBInstance(f *form) {
	sp := r.readCreateSpec(f)
	if sp == nil {
		return
	}
	engine, version := strings.ToLower(f.str("Engine")), f.str("EngineVersion")
	user, password, dbName := f.str("MasterUsername"), f.str("MasterUserPassword"), f.str("DBName")
	manage := f.boolean("ManageMasterUserPassword", false)
	storage := f.integer("AllocatedStorage", 0)
	retention := f.integer("BackupRetentionPeriod", 1)
	encrypted := f.boolean("StorageEncrypted", false)
	in := &instanceRec{ID: sp.id, Region: f.q.Region, Class: sp.class, Engine: engine, EngineVersion: version,
		MasterUsername: user, DBName: dbName, AllocatedStorage: storage, StorageType: orDefault(f.str("StorageType"), "gp2"),
		Encrypted: encrypted, BackupRetention: retention, DeletionProtection: f.boolean("DeletionProtection", false),
		CopyTagsToSnapshot: f.boolean("CopyTagsToSnapshot", false), PubliclyAccessible: sp.public,
		SecurityGroups: sp.securityGroups, SubnetGroup: sp.subnetGroup, Tags: sp.tags}
	if f.bad() || !r.checkCreate(f, in, password, manage) {
		return
	}
	if in.EngineVersion == "" || in.EngineVersion == "15" {
		in.EngineVersion = defaultEngineVersion
	}
	if encrypted {
		in.KmsKeyID = orDefault(f.str("KmsKeyId"), r.defaultKmsKey(f.q.Region))
	}
	port, err := freePort()
	if err != nil {
		f.q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: no free port for the instance: "+err.Error())
		return
	}
	r.place(f.q.Region, in, port)
	if manage {
		password = newPassword()
		if !r.makeSecret(f, in, password, f.str("MasterUserSecretKmsKeyId")) {
			return
		}
	}
	k := key(in.Region, in.ID)
	r.st.Instances[k] = in
	r.commitLocked()
	// initdb reads the password once; it is never stored in rds.json.
	lv := r.liveOfLocked(k, in)
	cfg := lv.cluster.Config()
	cfg.Password = password
	lv.cluster = newCluster(cfg)
	r.goCreate(k, "", false)
	respond(f.q, func(b *core.XMLBuf) { r.writeInstance(b, in) })
}

// checkCreate checks CreateDBInstance's engine, storage and credentials; false = answered.
func (r *Room) checkCreate(f *form, in *instanceRec, password string, manage bool) bool {
	invalid := func(code, msg string) bool {
		sender(f.q, http.StatusBadRequest, code, msg)
		return false
	}
	switch {
	case in.Engine == "":
		return invalid("InvalidParameterValue", "The parameter Engine must be provided and must not be blank.")
	case in.Engine != "postgres":
		return invalid("InvalidParameterValue", "Invalid DB engine: "+in.Engine+" (the local cloud runs postgres only)")
	case in.EngineVersion != "" && in.EngineVersion != "15" && !strings.HasPrefix(in.EngineVersion, "15."):
		return invalid("InvalidParameterCombination", "Cannot find version "+in.EngineVersion+" for postgres (the local cloud runs PostgreSQL 15)")
	case !strings.HasPrefix(in.Class, "db."):
		return invalid("InvalidParameterValue", "Invalid DB Instance class: "+in.Class)
	case in.AllocatedStorage < 20 || in.AllocatedStorage > 65536:
		return invalid("InvalidParameterValue", "Invalid storage size for engine name postgres and storage type "+in.StorageType+": "+strconv.Itoa(in.AllocatedStorage))
	case in.BackupRetention < 0 || in.BackupRetention > 35:
		return invalid("InvalidParameterValue", "The parameter BackupRetentionPeriod must be between 0 and 35.")
	case in.MasterUsername == "":
		return invalid("InvalidParameterValue", "The parameter MasterUsername must be provided and must not be blank.")
	case !usernameRE.MatchString(in.MasterUsername) || strings.EqualFold(in.MasterUsername, "rdsadmin"):
		return invalid("InvalidParameterValue", "The parameter MasterUsername is not a valid identifier: 1 to 63 letters, digits or underscores, starting with a letter.")
	case in.DBName != "" && !dbNameRE.MatchString(in.DBName):
		return invalid("InvalidParameterValue", "The parameter DBName is not a valid identifier: 1 to 63 letters, digits or underscores, starting with a letter.")
	case manage && password != "":
		return invalid("InvalidParameterCombination", "You can't specify MasterUserPassword and ManageMasterUserPassword at the same time.")
	case !manage && password == "":
		return invalid("InvalidParameterValue", "The parameter MasterUserPassword must be provided and must not be blank (or set ManageMasterUserPassword).")
	case !manage && !validPassword(password):
		return invalid("InvalidParameterValue", "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used, 8 to 128 of them.")
	}
	return true
}

// place fills in what the instance gets from where it lands: ARN, ids, AZ, port.
func (r *Room) place(region string, in *instanceRec, port int) {
	in.ARN = r.arn(region, "db", in.ID)
	in.ResourceID = "db-" + strings.ToUpper(core.RandomID(26))
	in.Status = "creating"
	in.Created = time.Now().UTC()
	in.Port = port
	in.AZ = region + "a"
	if g := r.st.SubnetGroups[key(region, in.SubnetGroup)]; g != nil && len(g.Subnets) > 0 {
		in.AZ = g.Subnets[0].AZ
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	if in.SecurityGroups == nil {
		in.SecurityGroups = []string{}
	}
}

// makeSecret creates the managed master secret ({"username","password"}) as RDS does;
// false = answered.
func (r *Room) makeSecret(f *form, in *instanceRec, password, kms string) bool {
	if r.secrets == nil {
		f.q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: no Secrets Manager room to keep the managed master password in")
		return false
	}
	value, _ := json.Marshal(map[string]string{"username": in.MasterUsername, "password": password})
	in.SecretKmsKeyID = orDefault(kms, "arn:aws:kms:"+in.Region+":"+core.AccountID+":alias/aws/secretsmanager")
	tags := map[string]string{"aws:rds:primaryDBInstanceArn": in.ARN, "aws:secretsmanager:owningService": "rds"}
	arn, err := r.secrets.CreateServiceSecret(in.Region, "rds!db-"+core.NewRequestID(), string(value), "rds", in.SecretKmsKeyID, tags)
	if err != nil {
		f.q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: create the managed master secret: "+err.Error())
		return false
	}
	in.SecretARN = arn
	return true
}

const passwordChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-.:;<=>?[]^_{|}~"

// newPassword is a managed master password: 28 characters of those RDS allows.
func newPassword() string {
	b := make([]byte, 28)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(passwordChars))))
		if err != nil {
			panic("crypto/rand: " + err.Error())
		}
		b[i] = passwordChars[n.Int64()]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (r *Room) describeDBInstances(f *form) {
	var list []*instanceRec
	if id := f.str("DBInstanceIdentifier"); id != "" {
		in := r.instance(f)
		if in == nil {
			return
		}
		list = append(list, in)
	} else {
		fl := f.filters()
		for _, in := range r.st.Instances {
			if in.Region == f.q.Region && instanceMatches(in, fl) {
				list = append(list, in)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	start, end, next, ok := page(f, len(list))
	if !ok {
		return
	}
	respond(f.q, func(b *core.XMLBuf) {
		b.Open("DBInstances")
		for _, in := range list[start:end] {
			r.writeInstance(b, in)
		}
		b.End("DBInstances")
		if next != "" {
			b.El("Marker", next)
		}
	})
}

// page pages a list by MaxRecords (20..100, default 100) and Marker; false = answered.
func page(f *form, n int) (start, end int, next string, ok bool) {
	max := f.integer("MaxRecords", 100)
	if f.bad() {
		return 0, 0, "", false
	}
	if max < 20 || max > 100 {
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "Invalid value "+strconv.Itoa(max)+" for MaxRecords. Must be between 20 and 100")
		return 0, 0, "", false
	}
	start, end, next = core.PageIndex(n, f.str("Marker"), strconv.Itoa(max), 100)
	return start, end, next, true
}

func instanceMatches(in *instanceRec, filters []filter) bool {
	for _, fl := range filters {
		var have []string
		switch fl.Name {
		case "db-instance-id":
			have = []string{in.ID, in.ARN}
		case "engine":
			have = []string{in.Engine}
		case "dbi-resource-id":
			have = []string{in.ResourceID}
		case "db-cluster-id":
			have = nil
		default:
			continue
		}
		if !anyIn(fl.Values, have) {
			return false
		}
	}
	return true
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}

// needAvailable answers InvalidDBInstanceState unless the instance is available.
func needAvailable(f *form, in *instanceRec) bool {
	if in.Status == "available" {
		return true
	}
	sender(f.q, http.StatusBadRequest, "InvalidDBInstanceState", "Instance "+in.ID+" is not in available state.")
	return false
}

func (r *Room) modifyDBInstance(f *form, in *instanceRec) {
	if !needAvailable(f, in) {
		return
	}
	retention := f.integer("BackupRetentionPeriod", in.BackupRetention)
	protection := f.boolean("DeletionProtection", in.DeletionProtection)
	copyTags := f.boolean("CopyTagsToSnapshot", in.CopyTagsToSnapshot)
	public := f.boolean("PubliclyAccessible", in.PubliclyAccessible)
	storage := f.integer("AllocatedStorage", in.AllocatedStorage)
	manage := f.boolean("ManageMasterUserPassword", in.SecretARN != "")
	_ = f.boolean("ApplyImmediately", false) // every change applies at once here
	password := f.str("MasterUserPassword")
	switch {
	case f.bad():
		return
	case retention < 0 || retention > 35:
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter BackupRetentionPeriod must be between 0 and 35.")
		return
	case storage < in.AllocatedStorage:
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "Invalid storage size: allocated storage can only grow ("+strconv.Itoa(in.AllocatedStorage)+" GiB now).")
		return
	case password != "" && manage:
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "You can't specify MasterUserPassword for an instance that has ManageMasterUserPassword enabled.")
		return
	case password != "" && !validPassword(password):
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used, 8 to 128 of them.")
		return
	}
	if cls := f.str("DBInstanceClass"); cls != "" {
		in.Class = cls
	}
	if sgs := f.list("VpcSecurityGroupIds.VpcSecurityGroupId"); len(sgs) > 0 {
		in.SecurityGroups = sgs
	}
	in.BackupRetention, in.DeletionProtection, in.CopyTagsToSnapshot = retention, protection, copyTags
	in.PubliclyAccessible, in.AllocatedStorage = public, storage
	if !r.changePassword(f, in, manage, password) {
		return
	}
	r.commitLocked()
	respond(f.q, func(b *core.XMLBuf) { r.writeInstance(b, in) })
}

// changePassword turns the managed password on or off, or sets a new one; false = answered.
func (r *Room) changePassword(f *form, in *instanceRec, manage bool, password string) bool {
	turnOn := manage && in.SecretARN == ""
	turnOff := !manage && in.SecretARN != ""
	if turnOff && password == "" {
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "To turn off ManageMasterUserPassword, give a MasterUserPassword.")
		return false
	}
	if turnOn {
		password = newPassword()
	}
	if password == "" {
		return true
	}
	lv := r.liveOfLocked(key(in.Region, in.ID), in)
	if err := lv.cluster.SetPassword(f.q.R.Context(), password); err != nil {
		f.q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: set the master password: "+err.Error())
		return false
	}
	if turnOn {
		return r.makeSecret(f, in, password, f.str("MasterUserSecretKmsKeyId"))
	}
	if turnOff && r.secrets != nil {
		r.secrets.DeleteServiceSecret(in.SecretARN)
		in.SecretARN, in.SecretKmsKeyID = "", ""
	}
	return true
}

func (r *Room) deleteDBInstance(f *form, in *instanceRec) {
	skip := f.boolean("SkipFinalSnapshot", false)
	final := strings.ToLower(f.str("FinalDBSnapshotIdentifier"))
	switch {
	case f.bad():
		return
	case in.DeletionProtection:
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "Cannot delete protected DB Instance, please disable deletion protection and try again.")
		return
	case in.Status == "deleting":
		sender(f.q, http.StatusBadRequest, "InvalidDBInstanceState", "Instance "+in.ID+" is already being deleted.")
		return
	case in.Status != "available" && in.Status != "failed" && in.Status != "backing-up":
		sender(f.q, http.StatusBadRequest, "InvalidDBInstanceState", "Instance "+in.ID+" is not in available state.")
		return
	case skip && final != "":
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "FinalDBSnapshotIdentifier can not be specified when SkipFinalSnapshot is true.")
		return
	case !skip && final == "":
		sender(f.q, http.StatusBadRequest, "InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
		return
	}
	if final != "" {
		if !r.newSnapshot(f, in, final) {
			return
		}
		in.FinalSnapshot = final
	}
	in.Status = "deleting"
	r.commitLocked()
	r.goDelete(key(in.Region, in.ID))
	respond(f.q, func(b *core.XMLBuf) { r.writeInstance(b, in) })
}

// newSnapshot records a manual snapshot of an instance, status creating; false = answered.
func (r *Room) newSnapshot(f *form, in *instanceRec, id string) bool {
	if !validIdentifier(id) {
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter DBSnapshotIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
		return false
	}
	if r.st.Snapshots[key(in.Region, id)] != nil {
		sender(f.q, http.StatusBadRequest, "DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier "+id+" already exists.")
		return false
	}
	tags := f.tags()
	if in.CopyTagsToSnapshot && len(tags) == 0 {
		tags = core.CopyMap(in.Tags)
	}
	vpc := ""
	if g := r.st.SubnetGroups[key(in.Region, in.SubnetGroup)]; g != nil {
		vpc = g.VpcID
	}
	r.st.Snapshots[key(in.Region, id)] = &snapshotRec{ID: id, Region: in.Region, ARN: r.arn(in.Region, "snapshot", id),
		InstanceID: in.ID, ResourceID: in.ResourceID, Status: "creating", Type: "manual", Created: time.Now().UTC(),
		InstanceCreated: in.Created, Engine: in.Engine, EngineVersion: in.EngineVersion, MasterUsername: in.MasterUsername,
		DBName: in.DBName, Port: in.Port, AllocatedStorage: in.AllocatedStorage, StorageType: in.StorageType,
		Encrypted: in.Encrypted, KmsKeyID: in.KmsKeyID, VpcID: vpc, AZ: in.AZ, Tags: tags}
	return true
}

func (r *Room) rebootDBInstance(f *form, in *instanceRec) {
	if !needAvailable(f, in) {
		return
	}
	in.Status = "rebooting"
	r.commitLocked()
	r.goReboot(key(in.Region, in.ID), r.liveOfLocked(key(in.Region, in.ID), in))
	respond(f.q, func(b *core.XMLBuf) { r.writeInstance(b, in) })
}

func (r *Room) createDBSnapshot(f *form, in *instanceRec) {
	id := strings.ToLower(f.str("DBSnapshotIdentifier"))
	if !needAvailable(f, in) || !r.newSnapshot(f, in, id) {
		return
	}
	in.Status = "backing-up"
	r.commitLocked()
	k := key(in.Region, in.ID)
	r.goSnapshot(k, key(in.Region, id), r.liveOfLocked(k, in))
	s := r.st.Snapshots[key(in.Region, id)]
	respond(f.q, func(b *core.XMLBuf) { writeSnapshot(b, s) })
}

// snapshot finds the snapshot DBSnapshotIdentifier names, or answers DBSnapshotNotFound.
func (r *Room) snapshot(f *form) *snapshotRec {
	id := idFromARN(f.str("DBSnapshotIdentifier"), "snapshot")
	if s := r.st.Snapshots[key(f.q.Region, id)]; s != nil {
		return s
	}
	sender(f.q, http.StatusNotFound, "DBSnapshotNotFound", "DBSnapshot "+id+" not found.")
	return nil
}

func (r *Room) describeDBSnapshots(f *form) {
	var list []*snapshotRec
	if f.str("DBSnapshotIdentifier") != "" {
		s := r.snapshot(f)
		if s == nil {
			return
		}
		list = append(list, s)
	} else {
		inst := idFromARN(f.str("DBInstanceIdentifier"), "db")
		typ := f.str("SnapshotType")
		fl := f.filters()
		for _, s := range r.st.Snapshots {
			if s.Region == f.q.Region && (inst == "" || s.InstanceID == inst) && (typ == "" || s.Type == typ) && snapshotMatches(s, fl) {
				list = append(list, s)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	start, end, next, ok := page(f, len(list))
	if !ok {
		return
	}
	respond(f.q, func(b *core.XMLBuf) {
		b.Open("DBSnapshots")
		for _, s := range list[start:end] {
			writeSnapshot(b, s)
		}
		b.End("DBSnapshots")
		if next != "" {
			b.El("Marker", next)
		}
	})
}

func snapshotMatches(s *snapshotRec, filters []filter) bool {
	for _, fl := range filters {
		var have []string
		switch fl.Name {
		case "db-instance-id":
			have = []string{s.InstanceID}
		case "db-snapshot-id":
			have = []string{s.ID, s.ARN}
		case "snapshot-type":
			have = []string{s.Type}
		case "engine":
			have = []string{s.Engine}
		case "dbi-resource-id":
			have = []string{s.ResourceID}
		default:
			continue
		}
		if !anyIn(fl.Values, have) {
			return false
		}
	}
	return true
}

func (r *Room) deleteDBSnapshot(f *form) {
	s := r.snapshot(f)
	if s == nil {
		return
	}
	if s.Status != "available" && s.Status != "failed" {
		sender(f.q, http.StatusBadRequest, "InvalidDBSnapshotState", "Cannot delete the snapshot because it is in state "+s.Status+".")
		return
	}
	delete(r.st.Snapshots, key(s.Region, s.ID))
	removeAllQuiet(r.snapshotDir(s.Region, s.ID))
	r.commitLocked()
	s.Status = "deleted"
	respond(f.q, func(b *core.XMLBuf) { writeSnapshot(b, s) })
}

func (r *Room) restoreDBInstanceFromDBSnapshot(f *form) {
	s := r.snapshot(f)
	if s == nil {
		return
	}
	sp := r.readCreateSpec(f)
	if sp == nil {
		return
	}
	if s.Status != "available" {
		sender(f.q, http.StatusBadRequest, "InvalidDBSnapshotState", "Snapshot "+s.ID+" is not available (it is "+s.Status+").")
		return
	}
	manage := f.boolean("ManageMasterUserPassword", false)
	in := &instanceRec{ID: sp.id, Region: f.q.Region, Class: orDefault(sp.class, "db.t3.micro"), Engine: s.Engine,
		EngineVersion: s.EngineVersion, MasterUsername: s.MasterUsername, DBName: s.DBName,
		AllocatedStorage: f.integer("AllocatedStorage", s.AllocatedStorage), StorageType: orDefault(f.str("StorageType"), s.StorageType),
		Encrypted: s.Encrypted, KmsKeyID: s.KmsKeyID, BackupRetention: f.integer("BackupRetentionPeriod", 1),
		DeletionProtection: f.boolean("DeletionProtection", false), CopyTagsToSnapshot: f.boolean("CopyTagsToSnapshot", false),
		PubliclyAccessible: sp.public, SecurityGroups: sp.securityGroups, SubnetGroup: sp.subnetGroup, Tags: sp.tags,
		RestoreFrom: s.ID}
	if f.bad() {
		return
	}
	port, err := freePort()
	if err != nil {
		f.q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: no free port for the instance: "+err.Error())
		return
	}
	r.place(f.q.Region, in, port)
	password := ""
	if manage {
		password = newPassword()
		if !r.makeSecret(f, in, password, f.str("MasterUserSecretKmsKeyId")) {
			return
		}
	}
	k := key(in.Region, in.ID)
	r.st.Instances[k] = in
	r.commitLocked()
	r.goCreate(k, password, manage)
	respond(f.q, func(b *core.XMLBuf) { r.writeInstance(b, in) })
}

func (r *Room) createDBSubnetGroup(f *form) {
	name := strings.ToLower(f.str("DBSubnetGroupName"))
	desc := f.str("DBSubnetGroupDescription")
	ids := f.list("SubnetIds.SubnetIdentifier")
	tags := f.tags()
	switch {
	case name == "" || len(name) > 255 || name == "default":
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter DBSubnetGroupName is not a valid name: 1 to 255 letters, digits, spaces, periods, underscores or hyphens, and not \"default\".")
		return
	case desc == "":
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter DBSubnetGroupDescription must be provided and must not be blank.")
		return
	case len(ids) == 0:
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The parameter SubnetIds must be provided and must not be empty.")
		return
	case r.st.SubnetGroups[key(f.q.Region, name)] != nil:
		sender(f.q, http.StatusBadRequest, "DBSubnetGroupAlreadyExists", "The DB subnet group '"+name+"' already exists.")
		return
	}
	g := &subnetGroupRec{Name: name, Region: f.q.Region, ARN: r.arn(f.q.Region, "subgrp", name), Description: desc, Tags: tags}
	for i, id := range ids {
		vpc := "vpc-local" // no EC2 room: any subnet id is taken
		if r.network != nil {
			_, v, ok := r.network.Subnet(f.q.Region, id)
			if !ok {
				sender(f.q, http.StatusBadRequest, "InvalidSubnet", "Some input subnets in :["+strings.Join(ids, ", ")+"] are invalid.")
				return
			}
			vpc = v
		}
		if g.VpcID != "" && vpc != g.VpcID {
			sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "The subnets of a DB subnet group must all be in one VPC.")
			return
		}
		g.VpcID = vpc
		// The AZ is not known to the EC2 peer; the subnets are spread over a, b, c.
		g.Subnets = append(g.Subnets, subnetRec{ID: id, AZ: f.q.Region + string(rune('a'+i%3))})
	}
	r.st.SubnetGroups[key(f.q.Region, name)] = g
	r.commitLocked()
	respond(f.q, func(b *core.XMLBuf) { writeSubnetGroup(b, g) })
}

func (r *Room) describeDBSubnetGroups(f *form) {
	var list []*subnetGroupRec
	if name := strings.ToLower(f.str("DBSubnetGroupName")); name != "" {
		g := r.st.SubnetGroups[key(f.q.Region, name)]
		if g == nil {
			sender(f.q, http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup '"+name+"' not found.")
			return
		}
		list = append(list, g)
	} else {
		for _, g := range r.st.SubnetGroups {
			if g.Region == f.q.Region {
				list = append(list, g)
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	start, end, next, ok := page(f, len(list))
	if !ok {
		return
	}
	respond(f.q, func(b *core.XMLBuf) {
		b.Open("DBSubnetGroups")
		for _, g := range list[start:end] {
			writeSubnetGroup(b, g)
		}
		b.End("DBSubnetGroups")
		if next != "" {
			b.El("Marker", next)
		}
	})
}

func (r *Room) deleteDBSubnetGroup(f *form) {
	name := strings.ToLower(f.str("DBSubnetGroupName"))
	g := r.st.SubnetGroups[key(f.q.Region, name)]
	if g == nil {
		sender(f.q, http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup '"+name+"' not found.")
		return
	}
	for _, in := range r.st.Instances {
		if in.Region == g.Region && in.SubnetGroup == g.Name {
			sender(f.q, http.StatusBadRequest, "InvalidDBSubnetGroupStateFault", "Cannot delete the subnet group '"+name+"' because at least one database instance: "+in.ID+" is still using it.")
			return
		}
	}
	delete(r.st.SubnetGroups, key(g.Region, g.Name))
	r.commitLocked()
	respond(f.q, nil)
}

// taggable finds the tags of the resource an ARN names, or answers its not-found error.
func (r *Room) taggable(f *form) map[string]string {
	arn := f.str("ResourceName")
	p := strings.Split(arn, ":")
	if len(p) != 7 || p[0] != "arn" || p[2] != "rds" {
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", "Invalid resource name: "+arn+" (an RDS ARN is expected)")
		return nil
	}
	region, kind, id := p[3], p[5], p[6]
	switch kind {
	case "db":
		if in := r.st.Instances[key(region, id)]; in != nil {
			return in.Tags
		}
		sender(f.q, http.StatusNotFound, "DBInstanceNotFound", "DBInstance "+id+" not found.")
	case "snapshot":
		if s := r.st.Snapshots[key(region, id)]; s != nil {
			return s.Tags
		}
		sender(f.q, http.StatusNotFound, "DBSnapshotNotFound", "DBSnapshot "+id+" not found.")
	case "subgrp":
		if g := r.st.SubnetGroups[key(region, id)]; g != nil {
			return g.Tags
		}
		sender(f.q, http.StatusNotFound, "DBSubnetGroupNotFoundFault", "DBSubnetGroup '"+id+"' not found.")
	default:
		sender(f.q, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("The local cloud does not tag RDS %s resources", kind))
	}
	return nil
}

func (r *Room) addTagsToResource(f *form) {
	tags := r.taggable(f)
	if tags == nil {
		return
	}
	for k, v := range f.tags() {
		tags[k] = v
	}
	r.commitLocked()
	respond(f.q, nil)
}

func (r *Room) removeTagsFromResource(f *form) {
	tags := r.taggable(f)
	if tags == nil {
		return
	}
	for _, k := range f.list("TagKeys.member") {
		delete(tags, k)
	}
	r.commitLocked()
	respond(f.q, nil)
}

func (r *Room) listTagsForResource(f *form) {
	tags := r.taggable(f)
	if tags == nil {
		return
	}
	respond(f.q, func(b *core.XMLBuf) { writeTags(b, "TagList", tags) })
}
