package main

// The admin section: table DDL, app envs, nodes, cluster info and the meta function level,
// driven through the go-client's own admin package (admin.Client: CreateTable, DropTable,
// ListTables, ListNodes, QueryConfig) and, for the RPCs that package has no method for
// (recall, app envs, cluster info, meta level, list with a name pattern), through the
// same session.MetaManager calls it is built on. admin-cli uses these very RPCs but is not
// on the module proxy.
//
// Every client here is given the metas follower first, so each fresh client's first call
// lands on a follower, gets ERR_FORWARD_TO_OTHERS and has to find the leader; the
// "follower_forwards" checks also ask the follower directly.
//
// Expected answers are upstream's (src/meta/server_state.cpp, meta_service.cpp,
// app_env_validator.cpp at the pinned commit); where a check pins a pegasus-log choice
// instead, its name says so.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	padmin "github.com/apache/incubator-pegasus/go-client/admin"
	"github.com/apache/incubator-pegasus/go-client/config"
	"github.com/apache/incubator-pegasus/go-client/idl/admin"
	"github.com/apache/incubator-pegasus/go-client/idl/base"
	"github.com/apache/incubator-pegasus/go-client/idl/replication"
	"github.com/apache/incubator-pegasus/go-client/idl/rrdb"
	"github.com/apache/incubator-pegasus/go-client/idl/utils"
	"github.com/apache/incubator-pegasus/go-client/pegasus"
	"github.com/apache/incubator-pegasus/go-client/session"
)

const (
	errOK            = "ERR_OK"
	errForward       = "ERR_FORWARD_TO_OTHERS"
	errAppExist      = "ERR_APP_EXIST"
	errAppNotExist   = "ERR_APP_NOT_EXIST"
	errInvalidParams = "ERR_INVALID_PARAMETERS"
	errStateFreezed  = "ERR_STATE_FREEZED"
	errObjNotFound   = "ERR_OBJECT_NOT_FOUND"

	adminPartitions = 4
	adminKeys       = 16
	adminReserve    = 3600 // reserve_seconds of the drop under test
	defaultTTL      = 86400
	defaultHold     = 7 * 24 * 3600 // upstream's hold_seconds_for_dropped_app default
)

type adminSuite struct {
	r        *runner
	metas    []string // as given
	order    []string // follower(s) first
	leader   string
	follower string
	table    string // the data table (temp), expected to exist
	nodes    int    // alive replica servers expected

	base     string // table-name prefix of this run
	name     string // the table created, dropped and recalled
	recalled string
	appID    int32
	conn     pegasus.TableConnector // opened on `name` before the drop
	client   pegasus.Client
}

// ---------------------------------------------------------------- helpers

// codeOf is the error name inside a meta response, or what went wrong with the call.
func codeOf[T any, P interface {
	*T
	GetErr() *base.ErrorCode
}](resp P, err error) string {
	if resp == nil {
		if err == nil {
			return "<no response>"
		}
		return "call failed: " + err.Error()
	}
	if resp.GetErr() == nil {
		return "<err field unset>"
	}
	return resp.GetErr().Errno
}

func expectCode(what, got, want string) error {
	if got != want {
		return fmt.Errorf("%s: want %s, got %s", what, want, got)
	}
	return nil
}

// closeSoon closes a client without letting a half-open session hang the run.
func closeSoon(f func() error) {
	done := make(chan struct{})
	go func() { _ = f(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

func (s *adminSuite) adminClient() padmin.Client {
	return padmin.NewClient(padmin.Config{MetaServers: s.order, Timeout: 20 * time.Second})
}

func (s *adminSuite) metaManager() *session.MetaManager {
	return session.NewMetaManager(s.order, session.NewNodeSession)
}

func (s *adminSuite) withMeta(fn func(ctx context.Context, mm *session.MetaManager) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		mm := s.metaManager()
		defer closeSoon(mm.Close)
		return fn(ctx, mm)
	}
}

func (s *adminSuite) withAdmin(fn func(ctx context.Context, c padmin.Client) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		c := s.adminClient()
		defer closeSoon(c.Close)
		return fn(ctx, c)
	}
}

func (s *adminSuite) check(name string, fn func(ctx context.Context) error) {
	s.r.check("admin "+name, fn)
}

func (s *adminSuite) checkLong(name string, timeout time.Duration, fn func(ctx context.Context) error) {
	s.r.checkWithTimeoutIf("admin "+name, timeout, fn)
}

func (s *adminSuite) key(i int) []byte { return s.r.hk(fmt.Sprintf("admin-%02d", i)) }

func findApp(infos []*replication.AppInfo, name string) *replication.AppInfo {
	for _, in := range infos {
		if in.AppName == name {
			return in
		}
	}
	return nil
}

func appNames(infos []*replication.AppInfo) []string {
	out := make([]string, 0, len(infos))
	for _, in := range infos {
		out = append(out, fmt.Sprintf("%s(%d,%s)", in.AppName, in.AppID, in.Status))
	}
	return out
}

func fmtEnvs(envs map[string]string) string {
	keys := make([]string, 0, len(envs))
	for k := range envs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+envs[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// envsOf lists the available tables (as admin-cli's `get_app_envs` does) and returns the
// envs of `name`.
func envsOf(ctx context.Context, mm *session.MetaManager, name string) (map[string]string, error) {
	resp, err := mm.ListApps(ctx, &admin.ConfigurationListAppsRequest{Status: replication.AppStatus_AS_AVAILABLE})
	if err != nil {
		return nil, fmt.Errorf("list_apps: %v", err)
	}
	app := findApp(resp.Infos, name)
	if app == nil {
		return nil, fmt.Errorf("list_apps: table %s missing from %v", name, appNames(resp.Infos))
	}
	return app.Envs, nil
}

func expectEnvs(ctx context.Context, mm *session.MetaManager, name string, want map[string]string) error {
	got, err := envsOf(ctx, mm, name)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(nonNil(got), nonNil(want)) {
		return fmt.Errorf("envs: want %s, got %s", fmtEnvs(want), fmtEnvs(got))
	}
	return nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func updateEnv(ctx context.Context, mm *session.MetaManager, req *admin.ConfigurationUpdateAppEnvRequest) (*admin.ConfigurationUpdateAppEnvResponse, string) {
	resp, err := mm.UpdateAppEnv(ctx, req)
	return resp, codeOf(resp, err)
}

func setEnvReq(table string, kv ...string) *admin.ConfigurationUpdateAppEnvRequest {
	req := &admin.ConfigurationUpdateAppEnvRequest{AppName: table, Op: admin.AppEnvOperation_APP_ENV_OP_SET}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Keys = append(req.Keys, kv[i])
		req.Values = append(req.Values, kv[i+1])
	}
	return req
}

func clearEnvReq(table string, prefix *string) *admin.ConfigurationUpdateAppEnvRequest {
	return &admin.ConfigurationUpdateAppEnvRequest{AppName: table, Op: admin.AppEnvOperation_APP_ENV_OP_CLEAR, ClearPrefix: prefix}
}

func createReq(name string, partitions, replicas int32, successIfExist bool, envs map[string]string) *admin.ConfigurationCreateAppRequest {
	return &admin.ConfigurationCreateAppRequest{
		AppName: name,
		Options: &admin.CreateAppOptions{
			PartitionCount: partitions,
			ReplicaCount:   replicas,
			SuccessIfExist: successIfExist,
			AppType:        "pegasus",
			IsStateful:     true,
			Envs:           envs,
		},
	}
}

// waitServing polls the routing table until every partition of `name` has a primary.
func waitServing(ctx context.Context, mm *session.MetaManager, name string) (*replication.QueryCfgResponse, error) {
	for {
		resp, err := mm.QueryConfig(ctx, name)
		if err == nil && resp.GetErr().Errno == errOK && len(resp.Partitions) > 0 {
			ready := true
			for _, pc := range resp.Partitions {
				if pc.Primary == nil || pc.Primary.GetRawAddress() == 0 {
					ready = false
				}
			}
			if ready {
				return resp, nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil && resp != nil {
				err = fmt.Errorf("err %s, %d partitions, not all with a primary", resp.GetErr().Errno, len(resp.Partitions))
			}
			return nil, fmt.Errorf("table %s not serving: %v (%v)", name, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// call sends one admin RPC straight to a meta over a go-client session, as metaSession
// does, and returns the response struct (GetSuccess of the result) and its error name.
func call(ctx context.Context, ns session.NodeSession, args session.RpcRequestArgs, rpc string) (interface{}, string) {
	res, err := ns.CallWithGpid(ctx, &base.Gpid{Appid: 0, PartitionIndex: 0}, 0, args, rpc)
	if err != nil {
		return nil, "call failed: " + err.Error()
	}
	v := reflect.ValueOf(res).MethodByName("GetSuccess").Call(nil)[0]
	if v.IsNil() {
		return nil, "<no response>"
	}
	resp := v.Interface()
	ec := resp.(interface{ GetErr() *base.ErrorCode }).GetErr()
	if ec == nil {
		return resp, "<err field unset>"
	}
	return resp, ec.Errno
}

func clusterInfoArgs() session.RpcRequestArgs {
	a := admin.NewAdminClientQueryClusterInfoArgs()
	a.Req = admin.NewConfigurationClusterInfoRequest()
	return a
}

func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb
}

// ---------------------------------------------------------------- the section

func (r *runner) admin(metas []string, table string, nodes int) {
	s := &adminSuite{r: r, metas: metas, order: metas, table: table, nodes: nodes}
	// Table names: letters, digits and '_' only (upstream and pegasus-log both accept them).
	s.base = "go_admin_" + strings.NewReplacer("-", "_").Replace(strings.TrimPrefix(r.prefix, "go-conf-"))
	s.name = s.base + "_t"
	s.recalled = s.base + "_recalled"
	defer func() {
		if s.client != nil {
			closeSoon(s.client.Close)
		}
	}()

	s.leadership()
	s.createAndList()
	s.badCreates()
	s.appEnvs()
	s.nodesAndCluster()
	s.metaLevel()
	s.dropAndRecall()
}

// leadership finds the leader by asking each meta directly, then checks that the
// followers forward every admin RPC instead of answering it.
func (s *adminSuite) leadership() {
	s.check("find_leader", func(ctx context.Context) error {
		var leaders, followers, others []string
		for _, m := range s.metas {
			ns := session.NewNodeSession(m, session.NodeTypeMeta, false)
			_, code := call(ctx, ns, clusterInfoArgs(), "RPC_CM_CLUSTER_INFO")
			closeSoon(ns.Close)
			switch code {
			case errOK:
				leaders = append(leaders, m)
			case errForward:
				followers = append(followers, m)
			default:
				others = append(others, m+": "+code)
			}
		}
		if len(leaders) != 1 || len(others) != 0 {
			return fmt.Errorf("want exactly one meta answering ERR_OK and the others %s; leaders %v, followers %v, others %v",
				errForward, leaders, followers, others)
		}
		s.leader = leaders[0]
		if len(followers) > 0 {
			s.follower = followers[0]
		}
		// one meta given: no follower, nothing is forwarded
		s.order = append(append([]string{}, followers...), s.leader)
		return nil
	})
	if s.follower == "" {
		return
	}

	type fwd struct {
		rpc  string
		args func() session.RpcRequestArgs
	}
	missing := s.base + "_never_created"
	cases := []fwd{
		// Requests that would change nothing even if the follower wrongly acted on them.
		{"RPC_CM_CREATE_APP", func() session.RpcRequestArgs {
			a := admin.NewAdminClientCreateAppArgs()
			a.Req = createReq(missing, 0, 1, false, nil) // partition count 0: refused anyway
			return a
		}},
		{"RPC_CM_DROP_APP", func() session.RpcRequestArgs {
			a := admin.NewAdminClientDropAppArgs()
			a.Req = &admin.ConfigurationDropAppRequest{AppName: missing, Options: &admin.DropAppOptions{}}
			return a
		}},
		{"RPC_CM_RECALL_APP", func() session.RpcRequestArgs {
			a := admin.NewAdminClientRecallAppArgs()
			a.Req = &admin.ConfigurationRecallAppRequest{AppID: 1 << 30, NewAppName_: missing}
			return a
		}},
		{"RPC_CM_LIST_APPS", func() session.RpcRequestArgs {
			a := admin.NewAdminClientListAppsArgs()
			a.Req = &admin.ConfigurationListAppsRequest{Status: replication.AppStatus_AS_INVALID}
			return a
		}},
		{"RPC_CM_UPDATE_APP_ENV", func() session.RpcRequestArgs {
			a := admin.NewAdminClientUpdateAppEnvArgs()
			a.Req = setEnvReq(missing, "default_ttl", "1")
			return a
		}},
		{"RPC_CM_LIST_NODES", func() session.RpcRequestArgs {
			a := admin.NewAdminClientListNodesArgs()
			a.Req = &admin.ConfigurationListNodesRequest{Status: admin.NodeStatus_NS_INVALID}
			return a
		}},
		{"RPC_CM_CLUSTER_INFO", clusterInfoArgs},
		{"RPC_CM_CONTROL_META", func() session.RpcRequestArgs {
			a := admin.NewAdminClientMetaControlArgs()
			a.Req = &admin.ConfigurationMetaControlRequest{Level: admin.MetaFunctionLevel_fl_invalid} // a read
			return a
		}},
		{"RPC_QUERY_APP_INFO", func() session.RpcRequestArgs {
			a := admin.NewAdminClientQueryAppInfoArgs()
			a.Req = &admin.QueryAppInfoRequest{MetaServer: base.NewRPCAddress(net.IPv4(127, 0, 0, 1), 1)}
			return a
		}},
	}
	ns := session.NewNodeSession(s.follower, session.NodeTypeMeta, false)
	defer closeSoon(ns.Close)
	for _, c := range cases {
		c := c
		s.check("follower_forwards "+c.rpc, func(ctx context.Context) error {
			_, code := call(ctx, ns, c.args(), c.rpc)
			return expectCode(c.rpc+" sent to follower "+s.follower, code, errForward)
		})
	}
	s.check("follower_forwards query_cfg naming the leader", func(ctx context.Context) error {
		a := rrdb.NewMetaQueryCfgArgs()
		a.Query = &replication.QueryCfgRequest{AppName: s.table, PartitionIndices: []int32{}}
		resp, code := call(ctx, ns, a, "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX")
		if err := expectCode("query_cfg sent to the follower", code, errForward); err != nil {
			return err
		}
		q := resp.(*replication.QueryCfgResponse)
		if len(q.Partitions) == 0 || q.Partitions[0].Primary == nil {
			return fmt.Errorf("no partitions[0].primary: the go-client cannot learn the leader")
		}
		if got := q.Partitions[0].Primary.GetAddress(); got != s.leader {
			return fmt.Errorf("partitions[0].primary = %s, want the leader %s", got, s.leader)
		}
		return nil
	})
	s.check("meta_manager follower_only learns the leader", func(ctx context.Context) error {
		mm := session.NewMetaManager([]string{s.follower}, session.NewNodeSession)
		defer closeSoon(mm.Close)
		resp, err := mm.QueryConfig(ctx, s.table)
		if err != nil {
			return err
		}
		if resp.GetErr().Errno != errOK {
			return fmt.Errorf("query_cfg %s: %s", s.table, resp.GetErr().Errno)
		}
		for _, a := range mm.GetMetaIPAddrs() {
			if a == s.leader {
				return nil
			}
		}
		return fmt.Errorf("meta list after forwarding %v lacks the leader %s", mm.GetMetaIPAddrs(), s.leader)
	})
}

func (s *adminSuite) createAndList() {
	s.checkLong("create_table", 60*time.Second, s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		// successIfExist=false: a leftover table must not pass for a new one
		id, err := c.CreateTable(s.name, adminPartitions, 1, nil, 30, false)
		if err != nil {
			return err
		}
		if id <= 0 {
			return fmt.Errorf("app id %d", id)
		}
		s.appID = id
		return nil
	}))
	s.check("list_tables shows it", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		tables, err := c.ListTables()
		if err != nil {
			return err
		}
		app := findApp(tables, s.name)
		if app == nil {
			return fmt.Errorf("%s missing from %v", s.name, appNames(tables))
		}
		now := time.Now().Unix()
		switch {
		case app.AppID != s.appID:
			return fmt.Errorf("app_id %d, create said %d", app.AppID, s.appID)
		case app.Status != replication.AppStatus_AS_AVAILABLE:
			return fmt.Errorf("status %s", app.Status)
		case app.PartitionCount != adminPartitions || app.InitPartitionCount != adminPartitions:
			return fmt.Errorf("partition_count %d init_partition_count %d, want %d", app.PartitionCount, app.InitPartitionCount, adminPartitions)
		case app.MaxReplicaCount != 1:
			return fmt.Errorf("max_replica_count %d, want 1", app.MaxReplicaCount)
		case app.AppType != "pegasus" || !app.IsStateful:
			return fmt.Errorf("app_type %q is_stateful %v", app.AppType, app.IsStateful)
		case app.CreateSecond < now-120 || app.CreateSecond > now+5:
			return fmt.Errorf("create_second %d, now %d", app.CreateSecond, now)
		case app.DropSecond != 0 || app.ExpireSecond != 0:
			return fmt.Errorf("drop_second %d expire_second %d on a live table", app.DropSecond, app.ExpireSecond)
		}
		all, err := c.ListTables(replication.AppStatus_AS_INVALID)
		if err != nil {
			return err
		}
		if findApp(all, s.name) == nil || findApp(all, s.table) == nil {
			return fmt.Errorf("list with status AS_INVALID (all): %v lacks %s or %s", appNames(all), s.name, s.table)
		}
		return nil
	}))
	s.check("list_tables name_pattern prefix", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		pattern, match := s.base, utils.PatternMatchType_PMT_MATCH_PREFIX
		resp, err := mm.ListApps(ctx, &admin.ConfigurationListAppsRequest{
			Status: replication.AppStatus_AS_INVALID, AppNamePattern: &pattern, MatchType: &match,
		})
		if err != nil {
			return err
		}
		var foreign []string
		for _, in := range resp.Infos {
			if !strings.HasPrefix(in.AppName, pattern) {
				foreign = append(foreign, in.AppName)
			}
		}
		if len(foreign) > 0 {
			return fmt.Errorf("app_name_pattern %q (PMT_MATCH_PREFIX) also listed %v", pattern, foreign)
		}
		if findApp(resp.Infos, s.name) == nil {
			return fmt.Errorf("app_name_pattern %q: %s missing from %v", pattern, s.name, appNames(resp.Infos))
		}
		return nil
	}))
	s.check("query_config", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		id, count, parts, err := c.QueryConfig(s.name)
		if err != nil {
			return err
		}
		if id != s.appID || count != adminPartitions || len(parts) != adminPartitions {
			return fmt.Errorf("app_id %d partition_count %d partitions %d, want %d %d %d", id, count, len(parts), s.appID, adminPartitions, adminPartitions)
		}
		for i, pc := range parts {
			switch {
			case pc.Pid == nil || pc.Pid.Appid != s.appID || pc.Pid.PartitionIndex != int32(i):
				return fmt.Errorf("partitions[%d].pid = %v", i, pc.Pid)
			case pc.Primary == nil || pc.Primary.GetRawAddress() == 0:
				return fmt.Errorf("partitions[%d] has no primary", i)
			case len(pc.Secondaries) != 0:
				return fmt.Errorf("partitions[%d] has secondaries %v with replica_count 1", i, pc.Secondaries)
			case pc.Ballot < 1:
				return fmt.Errorf("partitions[%d].ballot = %d", i, pc.Ballot)
			case pc.MaxReplicaCount != 1:
				return fmt.Errorf("partitions[%d].max_replica_count = %d", i, pc.MaxReplicaCount)
			}
		}
		return nil
	}))
	s.checkLong("open_table write_read", 30*time.Second, func(ctx context.Context) error {
		s.client = pegasus.NewClient(config.Config{MetaServers: s.order})
		tb, err := s.client.OpenTable(ctx, s.name)
		if err != nil {
			return err
		}
		s.conn = tb
		for i := 0; i < adminKeys; i++ {
			if err := tb.Set(ctx, s.key(i), b("sk"), b(fmt.Sprintf("v%02d", i))); err != nil {
				return fmt.Errorf("set %s: %v", s.key(i), err)
			}
		}
		for i := 0; i < adminKeys; i++ {
			v, err := tb.Get(ctx, s.key(i), b("sk"))
			if err != nil {
				return fmt.Errorf("get %s: %v", s.key(i), err)
			}
			if err := expectValue(string(s.key(i)), v, b(fmt.Sprintf("v%02d", i))); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *adminSuite) badCreates() {
	s.check("create_table existing -> ERR_APP_EXIST", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		_, err := c.CreateTable(s.name, adminPartitions, 1, nil, 5, false)
		if e := expectErrContains("admin.CreateTable(successIfExist=false)", err, errAppExist); e != nil {
			return e
		}
		mm := s.metaManager()
		defer closeSoon(mm.Close)
		resp, err := mm.CreateApp(ctx, createReq(s.name, adminPartitions, 1, false, nil))
		return expectCode("create_app success_if_exist=false", codeOf(resp, err), errAppExist)
	}))
	s.check("create_table existing success_if_exist same options -> ERR_OK", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		id, err := c.CreateTable(s.name, adminPartitions, 1, nil, 10) // admin's default: successIfExist=true
		if err != nil {
			return err
		}
		if id != s.appID {
			return fmt.Errorf("app id %d, want the existing table's %d", id, s.appID)
		}
		return nil
	}))
	// upstream: success_if_exist only succeeds if partition_count, app_type, envs,
	// is_stateful and replica_count all match the existing table (option_match_check)
	s.check("create_table existing success_if_exist other partition_count -> ERR_INVALID_PARAMETERS", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, err := mm.CreateApp(ctx, createReq(s.name, 2*adminPartitions, 1, true, nil))
		return expectCode("create_app of an existing name, success_if_exist=true, partition_count 8 (table has 4)", codeOf(resp, err), errInvalidParams)
	}))
	bad := func(label string, req *admin.ConfigurationCreateAppRequest) {
		s.checkLong("create_table "+label+" -> ERR_INVALID_PARAMETERS", 30*time.Second, s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
			resp, err := mm.CreateApp(ctx, req)
			code := codeOf(resp, err)
			if code == errOK { // do not leave it behind
				_, _ = mm.DropApp(ctx, &admin.ConfigurationDropAppRequest{AppName: req.AppName, Options: &admin.DropAppOptions{SuccessIfNotExist: true}})
			}
			return expectCode("create_app "+label, code, errInvalidParams)
		}))
	}
	bad("partition_count 0", createReq(s.base+"_p0", 0, 1, false, nil))
	// Upstream's meta only refuses partition_count <= 0; pegasus-log also refuses counts
	// that are not a power of two, since no client can use such a table (the Go client
	// requires 2^n >= 2, pypegasus routes by hash % count).
	bad("partition_count 3 (pegasus-log: power of two)", createReq(s.base+"_p3", 3, 1, false, nil))
	bad("replica_count 0", createReq(s.base+"_r0", adminPartitions, 0, false, nil))
	// upstream validates only the rocksdb options (rocksdb.num_levels,
	// rocksdb.write_buffer_size) among the envs of a create request
	bad("invalid rocksdb.num_levels env", createReq(s.base+"_lv", adminPartitions, 1, false, map[string]string{"rocksdb.num_levels": "abc"}))

	created := func(label, name string, envs map[string]string) {
		s.checkLong("create_table "+label, 30*time.Second, s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
			resp, err := mm.CreateApp(ctx, createReq(name, adminPartitions, 1, false, envs))
			code := codeOf(resp, err)
			if code == errOK {
				defer func() {
					c, cancel := s.r.fresh()
					defer cancel()
					_, _ = mm.DropApp(c, &admin.ConfigurationDropAppRequest{AppName: name, Options: &admin.DropAppOptions{SuccessIfNotExist: true}})
				}()
			}
			if e := expectCode("create_app with envs "+fmtEnvs(envs), code, errOK); e != nil {
				return e
			}
			return expectEnvs(ctx, mm, name, envs)
		}))
	}
	created("with envs", s.base+"_envs", map[string]string{"default_ttl": "3600", "manual_compact.disabled": "true"})
	// e.g. a duplication follower is created with duplication.* envs
	created("with an env key only set_app_envs would refuse (upstream: not validated at create)",
		s.base+"_dupenv", map[string]string{"duplication.master_cluster_name": "onebox2"})
}

func (s *adminSuite) appEnvs() {
	s.check("app_envs set", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		_, code := updateEnv(ctx, mm, setEnvReq(s.name, "default_ttl", strconv.Itoa(defaultTTL), "manual_compact.disabled", "true"))
		if err := expectCode("set default_ttl, manual_compact.disabled", code, errOK); err != nil {
			return err
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL), "manual_compact.disabled": "true"})
	}))
	// upstream applies default_ttl on write to records that carry no TTL (rocksdb_wrapper);
	// replicas learn envs from the meta, so allow some time.
	s.checkLong("app_envs default_ttl reaches the replicas", 30*time.Second, func(ctx context.Context) error {
		if s.conn == nil {
			return errors.New("table not open")
		}
		hk := s.r.hk("admin-ttl")
		var last int
		for i := 0; ; i++ {
			sk := b(fmt.Sprintf("probe%d", i))
			if err := s.conn.Set(ctx, hk, sk, b("x")); err != nil {
				return err
			}
			t, err := s.conn.TTL(ctx, hk, sk)
			if err != nil {
				return err
			}
			_ = s.conn.Del(ctx, hk, sk)
			if t > defaultTTL-60 && t <= defaultTTL {
				return nil
			}
			last = t
			select {
			case <-ctx.Done():
				return fmt.Errorf("a record set without TTL still has ttl %d, want about %d", last, defaultTTL)
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	s.check("app_envs set unknown key -> ERR_INVALID_PARAMETERS", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, code := updateEnv(ctx, mm, setEnvReq(s.name, "no_such_env_key", "1"))
		if err := expectCode("set no_such_env_key", code, errInvalidParams); err != nil {
			return err
		}
		if resp.HintMessage == "" {
			return fmt.Errorf("no hint_message (upstream: \"app_env 'no_such_env_key' is not supported\")")
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL), "manual_compact.disabled": "true"})
	}))
	s.check("app_envs set bad value -> ERR_INVALID_PARAMETERS", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		for _, kv := range [][2]string{{"default_ttl", "abc"}, {"manual_compact.disabled", "maybe"}} {
			_, code := updateEnv(ctx, mm, setEnvReq(s.name, kv[0], kv[1]))
			if err := expectCode("set "+kv[0]+"="+kv[1], code, errInvalidParams); err != nil {
				return err
			}
		}
		// one bad pair refuses the whole request
		_, code := updateEnv(ctx, mm, setEnvReq(s.name, "default_ttl", "100", "no_such_env_key", "1"))
		if err := expectCode("set default_ttl=100 with no_such_env_key", code, errInvalidParams); err != nil {
			return err
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL), "manual_compact.disabled": "true"})
	}))
	s.check("app_envs malformed requests -> ERR_INVALID_PARAMETERS", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		reqs := map[string]*admin.ConfigurationUpdateAppEnvRequest{
			"set 2 keys 1 value": {AppName: s.name, Op: admin.AppEnvOperation_APP_ENV_OP_SET,
				Keys: []string{"default_ttl", "manual_compact.disabled"}, Values: []string{"1"}},
			"set no keys": {AppName: s.name, Op: admin.AppEnvOperation_APP_ENV_OP_SET},
			"del no keys": {AppName: s.name, Op: admin.AppEnvOperation_APP_ENV_OP_DEL},
			"op APP_ENV_OP_INVALID": {AppName: s.name, Op: admin.AppEnvOperation_APP_ENV_OP_INVALID,
				Keys: []string{"default_ttl"}, Values: []string{"1"}},
		}
		names := make([]string, 0, len(reqs))
		for k := range reqs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, code := updateEnv(ctx, mm, reqs[n]); code != errInvalidParams {
				return fmt.Errorf("%s: want %s, got %s", n, errInvalidParams, code)
			}
		}
		return nil
	}))
	s.check("app_envs missing table -> ERR_APP_NOT_EXIST", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		_, code := updateEnv(ctx, mm, setEnvReq(s.base+"_never_created", "default_ttl", "1"))
		return expectCode("set env of a missing table", code, errAppNotExist)
	}))
	s.check("app_envs del", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		req := &admin.ConfigurationUpdateAppEnvRequest{AppName: s.name, Op: admin.AppEnvOperation_APP_ENV_OP_DEL, Keys: []string{"manual_compact.disabled"}}
		if _, code := updateEnv(ctx, mm, req); code != errOK {
			return fmt.Errorf("del manual_compact.disabled: %s", code)
		}
		if err := expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL)}); err != nil {
			return err
		}
		// deleting a key that is not there is fine ("no key needs to be deleted")
		_, code := updateEnv(ctx, mm, req)
		return expectCode("del an absent key", code, errOK)
	}))
	s.check("app_envs clear prefix", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		if _, code := updateEnv(ctx, mm, setEnvReq(s.name, "manual_compact.disabled", "true")); code != errOK {
			return fmt.Errorf("set manual_compact.disabled: %s", code)
		}
		prefix := "manual_compact"
		if _, code := updateEnv(ctx, mm, clearEnvReq(s.name, &prefix)); code != errOK {
			return fmt.Errorf("clear prefix %q: %s", prefix, code)
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL)})
	}))
	// upstream clears `<prefix>.<something>` only: the character after the prefix must be '.'
	s.check("app_envs clear prefix needs the dot separator", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		prefix := "default"
		if _, code := updateEnv(ctx, mm, clearEnvReq(s.name, &prefix)); code != errOK {
			return fmt.Errorf("clear prefix %q: %s", prefix, code)
		}
		err := expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL)})
		if err != nil {
			return fmt.Errorf("clear prefix %q must not remove default_ttl ('_' is not the '.' separator): %v", prefix, err)
		}
		return nil
	}))
	s.check("app_envs clear without clear_prefix -> ERR_INVALID_PARAMETERS", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		if _, code := updateEnv(ctx, mm, setEnvReq(s.name, "default_ttl", strconv.Itoa(defaultTTL))); code != errOK {
			return fmt.Errorf("set default_ttl: %s", code)
		}
		_, code := updateEnv(ctx, mm, clearEnvReq(s.name, nil))
		if err := expectCode("clear with clear_prefix unset", code, errInvalidParams); err != nil {
			return err
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{"default_ttl": strconv.Itoa(defaultTTL)})
	}))
	s.check("app_envs clear all", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		if _, code := updateEnv(ctx, mm, setEnvReq(s.name, "default_ttl", strconv.Itoa(defaultTTL), "manual_compact.disabled", "false")); code != errOK {
			return fmt.Errorf("set: %s", code)
		}
		empty := "" // admin-cli's `clear_app_envs`: an empty prefix clears everything
		if _, code := updateEnv(ctx, mm, clearEnvReq(s.name, &empty)); code != errOK {
			return fmt.Errorf("clear prefix \"\": %s", code)
		}
		return expectEnvs(ctx, mm, s.name, map[string]string{})
	}))
	// replica.write_throttling at 1 a second for the table leaves each partition 1 write a
	// second (upstream: units / partition_count + 1); the go-client reports ERR_BUSY as
	// "Rate of requests exceeds the throughput limit" and does not retry it.
	s.checkLong("app_envs write_throttling -> ERR_BUSY from the replicas", 40*time.Second, func(ctx context.Context) error {
		if s.conn == nil {
			return errors.New("table not open")
		}
		mm := s.metaManager()
		defer closeSoon(mm.Close)
		if _, code := updateEnv(ctx, mm, setEnvReq(s.name, "replica.write_throttling", "1*reject*0")); code != errOK {
			return fmt.Errorf("set replica.write_throttling: %s", code)
		}
		hk := s.r.hk("admin-throttled")
		var busy error
		for busy == nil {
			for i := 0; i < 4 && busy == nil; i++ {
				if err := s.conn.Set(ctx, hk, b("sk"), b("x")); err != nil {
					if !strings.Contains(err.Error(), "ERR_BUSY") {
						return fmt.Errorf("a throttled set failed otherwise: %v", err)
					}
					busy = err
				}
			}
			if busy != nil {
				break
			}
			select {
			case <-ctx.Done():
				return errors.New("4 sets a second to one partition never met ERR_BUSY")
			case <-time.After(500 * time.Millisecond):
			}
		}
		if e := expectErrContains("a set past the limit", busy, "Rate of requests exceeds the throughput limit"); e != nil {
			return e
		}
		empty := ""
		if _, code := updateEnv(ctx, mm, clearEnvReq(s.name, &empty)); code != errOK {
			return fmt.Errorf("clear the envs: %s", code)
		}
		for {
			ok := 0
			for i := 0; i < 4; i++ {
				if s.conn.Set(ctx, hk, b("sk"), b("x")) == nil {
					ok++
				}
			}
			if ok == 4 {
				return nil
			}
			select {
			case <-ctx.Done():
				return errors.New("sets still throttled after the env was cleared")
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
}

func (s *adminSuite) nodesAndCluster() {
	s.check("list_nodes", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		alive, err := c.ListNodes() // NS_ALIVE
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, n := range alive {
			if n.Status != admin.NodeStatus_NS_ALIVE {
				return fmt.Errorf("list_nodes(NS_ALIVE) returned a %s node", n.Status)
			}
			if n.Node == nil || n.Node.GetRawAddress() == 0 {
				return fmt.Errorf("node without an address")
			}
			if seen[n.Node.GetAddress()] {
				return fmt.Errorf("node %s listed twice", n.Node.GetAddress())
			}
			seen[n.Node.GetAddress()] = true
		}
		if len(alive) != s.nodes {
			return fmt.Errorf("want %d alive replica servers, got %d: %v", s.nodes, len(alive), seen)
		}
		all, err := c.ListNodes(admin.NodeStatus_NS_INVALID)
		if err != nil {
			return err
		}
		for _, n := range all {
			delete(seen, n.Node.GetAddress())
		}
		if len(seen) > 0 {
			return fmt.Errorf("list_nodes(NS_INVALID) lacks alive nodes %v", seen)
		}
		// every primary of our table is an alive node
		_, _, parts, err := c.QueryConfig(s.name)
		if err != nil {
			return err
		}
		aliveSet := map[string]bool{}
		for _, n := range alive {
			aliveSet[n.Node.GetAddress()] = true
		}
		for i, pc := range parts {
			if pc.Primary == nil || !aliveSet[pc.Primary.GetAddress()] {
				return fmt.Errorf("partitions[%d].primary %v is not an alive node", i, pc.Primary)
			}
		}
		return nil
	}))

	info := map[string]string{}
	s.check("cluster_info keys", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, err := mm.QueryClusterInfo(ctx, admin.NewConfigurationClusterInfoRequest())
		if err != nil {
			return err
		}
		if len(resp.Keys) != len(resp.Values) {
			return fmt.Errorf("%d keys, %d values", len(resp.Keys), len(resp.Values))
		}
		for i, k := range resp.Keys {
			info[k] = resp.Values[i]
		}
		var missing []string
		for _, k := range []string{"meta_servers", "primary_meta_server", "zookeeper_hosts", "zookeeper_root", "meta_function_level"} {
			if info[k] == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("missing or empty keys %v in %v", missing, resp.Keys)
		}
		if !strings.HasPrefix(info["zookeeper_root"], "/") {
			return fmt.Errorf("zookeeper_root %q is not a znode path", info["zookeeper_root"])
		}
		return nil
	}))
	s.check("cluster_info primary_meta_server is the leader", func(ctx context.Context) error {
		got := info["primary_meta_server"]
		if s.leader == "" || got == "" {
			return fmt.Errorf("leader %q, primary_meta_server %q", s.leader, got)
		}
		if got != s.leader && !samePort(got, s.leader) {
			return fmt.Errorf("primary_meta_server %q, the leader is %s", got, s.leader)
		}
		return nil
	})
	// upstream: meta_servers is the comma-separated list of all configured meta servers
	s.check("cluster_info meta_servers lists every meta", func(ctx context.Context) error {
		listed := strings.Split(info["meta_servers"], ",")
		var missing []string
		for _, m := range s.metas {
			found := false
			for _, l := range listed {
				if strings.TrimSpace(l) == m || samePort(strings.TrimSpace(l), m) {
					found = true
				}
			}
			if !found {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("meta_servers %q lacks %v", info["meta_servers"], missing)
		}
		return nil
	})
	// upstream: _meta_function_level_VALUES_TO_NAMES(level) + 3, i.e. without "fl_"
	s.check("cluster_info meta_function_level", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, err := mm.MetaControl(ctx, &admin.ConfigurationMetaControlRequest{Level: admin.MetaFunctionLevel_fl_invalid})
		if err != nil {
			return err
		}
		want := strings.TrimPrefix(resp.OldLevel.String(), "fl_")
		if got := info["meta_function_level"]; got != want {
			return fmt.Errorf("meta_function_level %q, want %q (level %s without the fl_ prefix)", got, want, resp.OldLevel)
		}
		return nil
	}))
	s.check("query_app_info (pegasus-log meta)", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		// Upstream serves RPC_QUERY_APP_INFO on replica servers only (the tables they
		// hold); pegasus-log's meta answers it with every table.
		resp, err := mm.QueryAppInfo(ctx, &admin.QueryAppInfoRequest{MetaServer: base.NewRPCAddress(net.IPv4(127, 0, 0, 1), 1)})
		if err != nil {
			return err
		}
		if findApp(resp.Apps, s.name) == nil {
			return fmt.Errorf("%s missing from %v", s.name, appNames(resp.Apps))
		}
		return nil
	}))
}

func (s *adminSuite) metaLevel() {
	metaControl := func(ctx context.Context, mm *session.MetaManager, lvl admin.MetaFunctionLevel) (admin.MetaFunctionLevel, error) {
		resp, err := mm.MetaControl(ctx, &admin.ConfigurationMetaControlRequest{Level: lvl})
		if code := codeOf(resp, err); code != errOK {
			return 0, fmt.Errorf("meta_control(%s): %s", lvl, code)
		}
		return resp.OldLevel, nil
	}
	s.check("meta_level get", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		lvl, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_invalid)
		if err != nil {
			return err
		}
		// upstream's meta_function_level_on_start default is steady
		if lvl != admin.MetaFunctionLevel_fl_steady {
			return fmt.Errorf("level %s, want fl_steady", lvl)
		}
		return nil
	}))
	s.check("meta_level set", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		orig, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_invalid)
		if err != nil {
			return err
		}
		defer func() {
			c, cancel := s.r.fresh()
			defer cancel()
			_, _ = metaControl(c, mm, orig)
		}()
		old, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_lively)
		if err != nil {
			return err
		}
		if old != orig {
			return fmt.Errorf("set lively: old_level %s, want %s", old, orig)
		}
		now, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_invalid)
		if err != nil {
			return err
		}
		if now != admin.MetaFunctionLevel_fl_lively {
			return fmt.Errorf("after set lively: level %s", now)
		}
		ci, err := mm.QueryClusterInfo(ctx, admin.NewConfigurationClusterInfoRequest())
		if err != nil {
			return err
		}
		for i, k := range ci.Keys {
			if k == "meta_function_level" && i < len(ci.Values) && !strings.HasSuffix(ci.Values[i], "lively") {
				return fmt.Errorf("cluster_info meta_function_level %q after set lively", ci.Values[i])
			}
		}
		old, err = metaControl(ctx, mm, orig)
		if err != nil {
			return err
		}
		if old != admin.MetaFunctionLevel_fl_lively {
			return fmt.Errorf("restore %s: old_level %s, want fl_lively", orig, old)
		}
		return nil
	}))
	// upstream create_app: level <= fl_freezed -> ERR_STATE_FREEZED
	s.checkLong("meta_level freezed refuses create_table -> ERR_STATE_FREEZED", 40*time.Second, s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		orig, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_invalid)
		if err != nil {
			return err
		}
		name := s.base + "_frozen"
		restored := false
		restore := func() {
			if restored {
				return
			}
			restored = true
			c, cancel := s.r.fresh()
			defer cancel()
			_, _ = metaControl(c, mm, orig)
		}
		defer func() {
			restore()
			c, cancel := s.r.fresh()
			defer cancel()
			_, _ = mm.DropApp(c, &admin.ConfigurationDropAppRequest{AppName: name, Options: &admin.DropAppOptions{SuccessIfNotExist: true}})
		}()
		if _, err := metaControl(ctx, mm, admin.MetaFunctionLevel_fl_freezed); err != nil {
			return err
		}
		resp, err := mm.CreateApp(ctx, createReq(name, adminPartitions, 1, false, nil))
		code := codeOf(resp, err)
		restore()
		return expectCode("create_app at fl_freezed", code, errStateFreezed)
	}))
}

func (s *adminSuite) dropAndRecall() {
	s.check("drop_table", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		if err := c.DropTable(s.name, adminReserve); err != nil {
			return err
		}
		avail, err := c.ListTables()
		if err != nil {
			return err
		}
		if findApp(avail, s.name) != nil {
			return fmt.Errorf("dropped table still listed as available: %v", appNames(avail))
		}
		dropped, err := c.ListTables(replication.AppStatus_AS_DROPPED)
		if err != nil {
			return err
		}
		app := findApp(dropped, s.name)
		if app == nil {
			return fmt.Errorf("%s missing from list(AS_DROPPED): %v", s.name, appNames(dropped))
		}
		now := time.Now().Unix()
		switch {
		case app.AppID != s.appID || app.Status != replication.AppStatus_AS_DROPPED:
			return fmt.Errorf("app_id %d status %s, want %d AS_DROPPED", app.AppID, app.Status, s.appID)
		case app.DropSecond < now-60 || app.DropSecond > now+5:
			return fmt.Errorf("drop_second %d, now %d", app.DropSecond, now)
		case app.ExpireSecond-app.DropSecond != adminReserve:
			return fmt.Errorf("expire_second - drop_second = %d, want reserve_seconds %d", app.ExpireSecond-app.DropSecond, adminReserve)
		}
		return nil
	}))
	s.check("drop_table open_table fails", func(ctx context.Context) error {
		cl := pegasus.NewClient(config.Config{MetaServers: s.order})
		defer closeSoon(cl.Close)
		_, err := cl.OpenTable(ctx, s.name)
		if e := expectErrContains("open the dropped table", err, errObjNotFound); e != nil {
			return e
		}
		c := s.adminClient()
		defer closeSoon(c.Close)
		_, _, _, err = c.QueryConfig(s.name)
		return expectErrContains("admin.QueryConfig of the dropped table", err, errObjNotFound)
	})
	s.checkLong("drop_table open connector stops serving", 20*time.Second, func(ctx context.Context) error {
		if s.conn == nil {
			return errors.New("table not open")
		}
		// The replicas close the partitions of a dropped table: a connector opened before
		// the drop must stop reading (the go-client retries until its deadline).
		var v []byte
		var err error
		for {
			c, cancel := context.WithTimeout(ctx, 3*time.Second)
			v, err = s.conn.Get(c, s.key(0), b("sk"))
			cancel()
			if err != nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("get on the dropped table still answers %s", q(v))
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	s.check("drop_table missing -> ERR_APP_NOT_EXIST", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		for _, name := range []string{s.base + "_never_created", s.name /* dropped */} {
			resp, err := mm.DropApp(ctx, &admin.ConfigurationDropAppRequest{AppName: name, Options: &admin.DropAppOptions{SuccessIfNotExist: false}})
			if e := expectCode("drop_app "+name+" success_if_not_exist=false", codeOf(resp, err), errAppNotExist); e != nil {
				return e
			}
		}
		// admin.DropTable always sets success_if_not_exist
		c := s.adminClient()
		defer closeSoon(c.Close)
		if err := c.DropTable(s.base+"_never_created", 0); err != nil {
			return fmt.Errorf("admin.DropTable (success_if_not_exist=true) of a missing table: %v", err)
		}
		return nil
	}))
	s.check("recall_table bad inputs", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, err := mm.RecallApp(ctx, &admin.ConfigurationRecallAppRequest{AppID: 1 << 30, NewAppName_: s.recalled})
		if e := expectCode("recall of an unknown app id", codeOf(resp, err), errAppNotExist); e != nil {
			return e
		}
		resp, err = mm.RecallApp(ctx, &admin.ConfigurationRecallAppRequest{AppID: s.appID, NewAppName_: s.table})
		return expectCode("recall under the name of an existing table ("+s.table+")", codeOf(resp, err), errInvalidParams)
	}))
	// upstream: recalling a table that is not dropped (AS_AVAILABLE) -> ERR_APP_EXIST
	s.check("recall_table available table -> ERR_APP_EXIST", s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		cfg, err := mm.QueryConfig(ctx, s.table)
		if err != nil {
			return err
		}
		if cfg.GetErr().Errno != errOK {
			return fmt.Errorf("query_cfg %s: %s", s.table, cfg.GetErr().Errno)
		}
		resp, err := mm.RecallApp(ctx, &admin.ConfigurationRecallAppRequest{AppID: cfg.AppID, NewAppName_: s.base + "_not_recalled"})
		return expectCode(fmt.Sprintf("recall of available table %s (app id %d)", s.table, cfg.AppID), codeOf(resp, err), errAppExist)
	}))
	s.checkLong("recall_table under a new name", 45*time.Second, s.withMeta(func(ctx context.Context, mm *session.MetaManager) error {
		resp, err := mm.RecallApp(ctx, &admin.ConfigurationRecallAppRequest{AppID: s.appID, NewAppName_: s.recalled})
		if e := expectCode("recall_app", codeOf(resp, err), errOK); e != nil {
			return e
		}
		in := resp.Info
		if in == nil || in.AppName != s.recalled || in.AppID != s.appID || in.Status != replication.AppStatus_AS_AVAILABLE ||
			in.PartitionCount != adminPartitions || in.MaxReplicaCount != 1 {
			return fmt.Errorf("recall info %+v, want name %s app_id %d AS_AVAILABLE %d partitions replica count 1", in, s.recalled, s.appID, adminPartitions)
		}
		if _, err := waitServing(ctx, mm, s.recalled); err != nil {
			return err
		}
		list, err := mm.ListApps(ctx, &admin.ConfigurationListAppsRequest{Status: replication.AppStatus_AS_INVALID})
		if err != nil {
			return err
		}
		if app := findApp(list.Infos, s.recalled); app == nil || app.AppID != s.appID || app.Status != replication.AppStatus_AS_AVAILABLE {
			return fmt.Errorf("list: %s should be available with app id %d: %v", s.recalled, s.appID, appNames(list.Infos))
		}
		if findApp(list.Infos, s.name) != nil {
			return fmt.Errorf("list: the old name %s is still listed: %v", s.name, appNames(list.Infos))
		}
		return nil
	}))
	s.checkLong("recall_table data back", 45*time.Second, func(ctx context.Context) error {
		cl := pegasus.NewClient(config.Config{MetaServers: s.order})
		defer closeSoon(cl.Close)
		tb, err := cl.OpenTable(ctx, s.recalled)
		if err != nil {
			return err
		}
		for i := 0; i < adminKeys; i++ {
			v, err := tb.Get(ctx, s.key(i), b("sk"))
			if err != nil {
				return fmt.Errorf("get %s: %v", s.key(i), err)
			}
			if err := expectValue(string(s.key(i)), v, b(fmt.Sprintf("v%02d", i))); err != nil {
				return err
			}
		}
		_, err = cl.OpenTable(ctx, s.name)
		return expectErrContains("open the old name after recall", err, errObjNotFound)
	})
	// upstream drop_app: reserve_seconds <= 0 (or unset) keeps the table recallable for
	// hold_seconds_for_dropped_app (default 7 days); it never means "expire now".
	s.check("drop_table reserve_seconds 0 -> default hold", s.withAdmin(func(ctx context.Context, c padmin.Client) error {
		if err := c.DropTable(s.recalled, 0); err != nil {
			return err
		}
		dropped, err := c.ListTables(replication.AppStatus_AS_DROPPED)
		if err != nil {
			return err
		}
		app := findApp(dropped, s.recalled)
		if app == nil {
			return fmt.Errorf("%s missing from list(AS_DROPPED): %v", s.recalled, appNames(dropped))
		}
		if hold := app.ExpireSecond - app.DropSecond; hold != defaultHold {
			return fmt.Errorf("expire_second - drop_second = %d, want %d (hold_seconds_for_dropped_app)", hold, defaultHold)
		}
		return nil
	}))
}
