package main

// Checks below the TableConnector: the go-client's own session layer (its codec, framing
// and seqid matching) talking to the meta and the primaries directly. They pin answers
// that the TableConnector hides: its retry loop turns storage errors such as
// InvalidArgument into "context deadline exceeded", and it never sends some requests.

import (
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"strings"
	"time"

	"github.com/apache/incubator-pegasus/go-client/idl/base"
	"github.com/apache/incubator-pegasus/go-client/idl/replication"
	"github.com/apache/incubator-pegasus/go-client/idl/rrdb"
	"github.com/apache/incubator-pegasus/go-client/session"
)

var crcTable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// rocksdb status codes carried in the responses' error field
const (
	rdbOK              = 0
	rdbNotFound        = 1
	rdbInvalidArgument = 4
	rdbIncomplete      = 7
	rdbTryAgain        = 13
)

type rawEnv struct {
	cfg      *replication.QueryCfgResponse
	replicas map[string]*session.ReplicaSession
}

func rawKey(hashKey, sortKey []byte) *base.Blob {
	buf := make([]byte, 2+len(hashKey)+len(sortKey))
	buf[0], buf[1] = byte(len(hashKey)>>8), byte(len(hashKey))
	copy(buf[2:], hashKey)
	copy(buf[2+len(hashKey):], sortKey)
	return &base.Blob{Data: buf}
}

// route returns the gpid, partition hash and primary session for a hash key.
func (e *rawEnv) route(hashKey []byte) (*base.Gpid, uint64, *session.ReplicaSession) {
	h := crc64.Checksum(hashKey, crcTable)
	idx := int32(h % uint64(e.cfg.PartitionCount))
	pc := e.cfg.Partitions[idx]
	addr := pc.Primary.GetAddress()
	rs, ok := e.replicas[addr]
	if !ok {
		rs = &session.ReplicaSession{NodeSession: session.NewNodeSession(addr, session.NodeTypeReplica, false)}
		e.replicas[addr] = rs
	}
	return &base.Gpid{Appid: e.cfg.AppID, PartitionIndex: idx}, h, rs
}

func (e *rawEnv) close() {
	for _, rs := range e.replicas {
		_ = rs.Close()
	}
}

func (r *runner) raw(metas []string, table string) {
	env := &rawEnv{replicas: map[string]*session.ReplicaSession{}}
	mm := session.NewMetaManager(metas, session.NewNodeSession)
	defer func() { _ = mm.Close() }()
	defer env.close()

	r.check("raw query_cfg", func(ctx context.Context) error {
		resp, err := mm.QueryConfig(ctx, table)
		if err != nil {
			return err
		}
		if resp.Err == nil || resp.Err.Errno != base.ERR_OK.String() {
			return fmt.Errorf("err %v, want ERR_OK", resp.Err)
		}
		n := int(resp.PartitionCount)
		if n < 2 || n&(n-1) != 0 || len(resp.Partitions) != n {
			return fmt.Errorf("partition_count %d with %d partitions: want a power of two >= 2, all listed", n, len(resp.Partitions))
		}
		if resp.AppID <= 0 {
			return fmt.Errorf("app_id %d", resp.AppID)
		}
		// pypegasus3 ignores any answer whose is_stateful is false
		if !resp.IsStateful {
			return fmt.Errorf("is_stateful=false (pypegasus3 would ignore this answer)")
		}
		for i, pc := range resp.Partitions {
			switch {
			case pc.Pid == nil || pc.Pid.Appid != resp.AppID || pc.Pid.PartitionIndex != int32(i):
				return fmt.Errorf("partitions[%d].pid = %v", i, pc.Pid)
			case pc.Ballot < 1:
				return fmt.Errorf("partitions[%d].ballot = %d, want >= 1", i, pc.Ballot)
			case pc.Primary == nil || pc.Primary.GetRawAddress() == 0:
				return fmt.Errorf("partitions[%d] has no primary", i)
			case pc.Primary.GetRawAddress()&0xffff != 1:
				return fmt.Errorf("partitions[%d].primary low 16 bits = %d, want 1 (ipv4)", i, pc.Primary.GetRawAddress()&0xffff)
			// pypegasus3's partition_configuration has fields 1-7 only; a host_port field
			// cannot be skipped by a generic thrift reader
			case pc.HpPrimary != nil || pc.HpSecondaries != nil || pc.HpLastDrops != nil:
				return fmt.Errorf("partitions[%d] carries hp_* fields (breaks pypegasus3)", i)
			}
		}
		env.cfg = resp
		return nil
	})
	if env.cfg == nil {
		return
	}

	hk := r.hk("raw")
	type kvPair struct{ sk, v string }
	put := func(ctx context.Context, pairs ...kvPair) error {
		for _, p := range pairs {
			gpid, h, rs := env.route(hk)
			resp, err := rs.Put(ctx, gpid, h, &rrdb.UpdateRequest{Key: rawKey(hk, []byte(p.sk)), Value: &base.Blob{Data: []byte(p.v)}})
			if err != nil {
				return err
			}
			if resp.Error != rdbOK {
				return fmt.Errorf("put %s: error %d", p.sk, resp.Error)
			}
		}
		return nil
	}

	r.check("raw get_missing_is_not_found", func(ctx context.Context) error {
		gpid, h, rs := env.route(hk)
		resp, err := rs.Get(ctx, gpid, h, rawKey(hk, []byte("missing")))
		if err != nil {
			return err
		}
		if resp.Error != rdbNotFound {
			return fmt.Errorf("error %d, want %d (NotFound)", resp.Error, rdbNotFound)
		}
		if resp.Value == nil {
			return fmt.Errorf("read_response.value absent (pypegasus3 reads resp.value.data)")
		}
		return nil
	})
	r.check("raw incr_non_integer_is_invalid_argument", func(ctx context.Context) error {
		if err := put(ctx, kvPair{"text", "abc"}); err != nil {
			return err
		}
		gpid, h, rs := env.route(hk)
		resp, err := rs.Incr(ctx, gpid, h, &rrdb.IncrRequest{Key: rawKey(hk, []byte("text")), Increment: 1})
		if err != nil {
			return err
		}
		if resp.Error != rdbInvalidArgument {
			return fmt.Errorf("error %d, want %d (InvalidArgument)", resp.Error, rdbInvalidArgument)
		}
		return nil
	})
	r.check("raw incr_overflow_returns_old_value", func(ctx context.Context) error {
		if err := put(ctx, kvPair{"max", "9223372036854775807"}); err != nil {
			return err
		}
		gpid, h, rs := env.route(hk)
		resp, err := rs.Incr(ctx, gpid, h, &rrdb.IncrRequest{Key: rawKey(hk, []byte("max")), Increment: 1})
		if err != nil {
			return err
		}
		if resp.Error != rdbInvalidArgument || resp.NewValue_ != 9223372036854775807 {
			return fmt.Errorf("error %d new_value %d, want %d and the old value", resp.Error, resp.NewValue_, rdbInvalidArgument)
		}
		return nil
	})
	cas := func(ctx context.Context, checkType rrdb.CasCheckType, operand string) (*rrdb.CheckAndSetResponse, error) {
		gpid, h, rs := env.route(hk)
		req := rrdb.NewCheckAndSetRequest()
		req.HashKey = &base.Blob{Data: hk}
		req.CheckSortKey = &base.Blob{Data: []byte("n")}
		req.CheckType = checkType
		req.CheckOperand = &base.Blob{Data: []byte(operand)}
		req.SetSortKey = &base.Blob{Data: []byte("n")}
		req.SetValue = &base.Blob{Data: []byte("set")}
		req.ReturnCheckValue = true
		return rs.CheckAndSet(ctx, gpid, h, req)
	}
	r.check("raw check_and_set_int_non_integer_is_invalid_argument", func(ctx context.Context) error {
		if err := put(ctx, kvPair{"n", "abc"}); err != nil {
			return err
		}
		resp, err := cas(ctx, rrdb.CasCheckType_CT_VALUE_INT_EQUAL, "1")
		if err != nil {
			return err
		}
		if resp.Error != rdbInvalidArgument {
			return fmt.Errorf("error %d, want %d (InvalidArgument)", resp.Error, rdbInvalidArgument)
		}
		return nil
	})
	r.check("raw check_and_set_failed_check_is_try_again", func(ctx context.Context) error {
		if err := put(ctx, kvPair{"n", "10"}); err != nil {
			return err
		}
		resp, err := cas(ctx, rrdb.CasCheckType_CT_VALUE_INT_GREATER, "10")
		if err != nil {
			return err
		}
		if resp.Error != rdbTryAgain {
			return fmt.Errorf("error %d, want %d (TryAgain)", resp.Error, rdbTryAgain)
		}
		if !resp.CheckValueReturned || !resp.CheckValueExist || resp.CheckValue == nil || string(resp.CheckValue.Data) != "10" {
			return fmt.Errorf("check value returned=%v exist=%v value=%v, want true true \"10\"",
				resp.CheckValueReturned, resp.CheckValueExist, resp.CheckValue)
		}
		return nil
	})
	r.check("raw check_and_set_invalid_check_type", func(ctx context.Context) error {
		resp, err := cas(ctx, rrdb.CasCheckType(99), "")
		if err != nil {
			return err
		}
		if resp.Error != rdbInvalidArgument {
			return fmt.Errorf("error %d, want %d (InvalidArgument)", resp.Error, rdbInvalidArgument)
		}
		return nil
	})
	r.check("raw multi_get_incomplete", func(ctx context.Context) error {
		if err := put(ctx, kvPair{"m1", "1"}, kvPair{"m2", "2"}, kvPair{"m3", "3"}); err != nil {
			return err
		}
		gpid, h, rs := env.route(hk)
		req := rrdb.NewMultiGetRequest()
		req.HashKey = &base.Blob{Data: hk}
		req.SortKeys = []*base.Blob{{Data: []byte("m1")}, {Data: []byte("m2")}, {Data: []byte("m3")}}
		req.MaxKvCount = 2
		req.StartSortkey, req.StopSortkey, req.SortKeyFilterPattern = &base.Blob{}, &base.Blob{}, &base.Blob{}
		resp, err := rs.MultiGet(ctx, gpid, h, req)
		if err != nil {
			return err
		}
		if resp.Error != rdbIncomplete || len(resp.Kvs) != 2 {
			return fmt.Errorf("error %d with %d kvs, want %d (Incomplete) with 2", resp.Error, len(resp.Kvs), rdbIncomplete)
		}
		return nil
	})
	r.check("raw multi_get_unsupported_filter_type", func(ctx context.Context) error {
		gpid, h, rs := env.route(hk)
		req := rrdb.NewMultiGetRequest()
		req.HashKey = &base.Blob{Data: hk}
		req.StartSortkey, req.StopSortkey = &base.Blob{}, &base.Blob{}
		req.SortKeyFilterType = rrdb.FilterType(9)
		req.SortKeyFilterPattern = &base.Blob{Data: []byte("x")}
		resp, err := rs.MultiGet(ctx, gpid, h, req)
		if err != nil {
			return err
		}
		if resp.Error != rdbInvalidArgument {
			return fmt.Errorf("error %d, want %d (InvalidArgument)", resp.Error, rdbInvalidArgument)
		}
		return nil
	})
	r.check("raw scan_context_lifecycle", func(ctx context.Context) error {
		sh := r.hk("raw-scan")
		gpid, h, rs := env.route(sh)
		for i := 0; i < 5; i++ {
			resp, err := rs.Put(ctx, gpid, h, &rrdb.UpdateRequest{Key: rawKey(sh, []byte(fmt.Sprintf("s%d", i))), Value: &base.Blob{Data: []byte("v")}})
			if err != nil || resp.Error != rdbOK {
				return fmt.Errorf("put: %v %v", err, resp)
			}
		}
		req := rrdb.NewGetScannerRequest()
		req.StartKey = rawKey(sh, nil)
		req.StopKey = rawKey(sh, []byte{0xff, 0xff})
		req.StartInclusive = true
		req.BatchSize = 2
		req.HashKeyFilterPattern, req.SortKeyFilterPattern = &base.Blob{}, &base.Blob{}
		f := false
		req.ValidatePartitionHash = &f
		first, err := rs.GetScanner(ctx, gpid, h, req)
		if err != nil {
			return err
		}
		if first.Error != rdbOK || len(first.Kvs) != 2 || first.ContextID < 0 {
			return fmt.Errorf("get_scanner: error %d, %d kvs, context_id %d; want 0, 2, >= 0",
				first.Error, len(first.Kvs), first.ContextID)
		}
		if !strings.HasSuffix(string(first.Kvs[0].Key.Data), "s0") {
			return fmt.Errorf("first key %q: scanner keys are full [len][hash][sort] keys", first.Kvs[0].Key.Data)
		}
		next, err := rs.Scan(ctx, gpid, h, &rrdb.ScanRequest{ContextID: first.ContextID})
		if err != nil {
			return err
		}
		if next.Error != rdbOK || len(next.Kvs) != 2 || next.ContextID < 0 {
			return fmt.Errorf("scan: error %d, %d kvs, context_id %d; want 0, 2, >= 0", next.Error, len(next.Kvs), next.ContextID)
		}
		// clear_scanner is one-way: no reply may come back (the go-client has no ACK
		// handler for it; an unexpected reply would kill the session)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err = rs.ClearScanner(cctx, gpid, h, next.ContextID)
		cancel()
		if err == nil {
			return fmt.Errorf("clear_scanner got a reply; it must stay unanswered")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("clear_scanner: %v", err)
		}
		gone, err := rs.Scan(ctx, gpid, h, &rrdb.ScanRequest{ContextID: next.ContextID})
		if err != nil {
			return fmt.Errorf("scan after clear_scanner (session must survive): %v", err)
		}
		if gone.Error != rdbNotFound {
			return fmt.Errorf("scan of a cleared context: error %d, want %d (NotFound)", gone.Error, rdbNotFound)
		}
		return nil
	})
	r.check("raw scan_unknown_context_is_not_found", func(ctx context.Context) error {
		gpid, h, rs := env.route(hk)
		resp, err := rs.Scan(ctx, gpid, h, &rrdb.ScanRequest{ContextID: 987654321})
		if err != nil {
			return err
		}
		if resp.Error != rdbNotFound {
			return fmt.Errorf("error %d, want %d (NotFound)", resp.Error, rdbNotFound)
		}
		return nil
	})
	r.check("raw unknown_gpid_is_err_object_not_found", func(ctx context.Context) error {
		_, h, rs := env.route(hk)
		_, err := rs.Get(ctx, &base.Gpid{Appid: env.cfg.AppID + 1000, PartitionIndex: 0}, h, rawKey(hk, []byte("x")))
		if !errors.Is(err, base.ERR_OBJECT_NOT_FOUND) {
			return fmt.Errorf("got %v, want ERR_OBJECT_NOT_FOUND", err)
		}
		return nil
	})
	r.check("raw unknown_rpc_is_err_handler_not_found", func(ctx context.Context) error {
		gpid, h, rs := env.route(hk)
		_, err := rs.CallWithGpid(ctx, gpid, h, &rrdb.RrdbGetArgs{Key: rawKey(hk, []byte("x"))}, "RPC_RRDB_RRDB_NO_SUCH_RPC")
		if !errors.Is(err, base.ERR_HANDLER_NOT_FOUND) {
			return fmt.Errorf("got %v, want ERR_HANDLER_NOT_FOUND", err)
		}
		// and the session is still usable
		resp, err := rs.Get(ctx, gpid, h, rawKey(hk, []byte("text")))
		if err != nil {
			return fmt.Errorf("get after unknown rpc: %v", err)
		}
		if resp.Error != rdbOK || string(resp.Value.Data) != "abc" {
			return fmt.Errorf("get after unknown rpc: error %d value %q", resp.Error, resp.Value.Data)
		}
		return nil
	})
}
