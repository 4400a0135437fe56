// pipeline_bench: how fast partwatch's in-process pipeline turns pgoutput
// bytes into counts, without PostgreSQL or sockets.  A benchmark, not a test:
// it is not registered with ctest; docs/benchmarks.md says how to run it and
// what the numbers were.
//
//   (a) BM_Decode*          one message through pgoutput::PgOutputDecoder
//   (b) BM_DecodeAndCount   Begin + N Inserts + Commit, decoded and fed to
//                           policy::Policy, with few or many distinct values
//   (c) BM_Pipeline*        the same stream as CopyData frames, through the
//                           reader-side work (copy into an owned buffer,
//                           walsender framing, WalEvent) and the policy-side
//                           work (decode, count), inline on one thread or
//                           handed over a moodycamel BlockingConcurrentQueue
//                           between two threads as src/runner.cc does
//
// The bytes are what PostgreSQL 15 sends for partwatch's publication on the
// seed's orders table (`FOR TABLE orders_other (status) WITH (publish =
// 'insert')`): a Relation naming public.orders_other with one text column,
// then one-column Inserts.  They are built with the tests' encoder
// (tests/decoder/pgoutput_encoder.h); BM_DecodeInsert_Captured decodes a
// message captured from a real server (tests/decoder/fixtures/).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "decoder/pgoutput.h"
#include "decoder/walsender.h"
#include "policy/policy.h"
#include "src/replication/stream.h"
#include "tests/decoder/pgoutput_encoder.h"

#ifndef PARTWATCH_FIXTURE_DIR
#error "PARTWATCH_FIXTURE_DIR must name tests/decoder/fixtures"
#endif

namespace partwatch {
namespace {

using pgoutput::testing::AsBytes;
using pgoutput::testing::Encode;
using pgoutput::testing::WireWriter;

constexpr pgoutput::Oid kRelationId = 16412;  // any oid; the Relation message binds it
constexpr pgoutput::Oid kTextOid = 25;
constexpr int kProtoVersion = 2;        // what partwatch asks for (src/runner.cc)
constexpr int64_t kThreshold = 1'000'000'000;  // never crossed: we measure counting, not moves

// The five values the few-distinct workloads (and bench/stream_bench.sh) use.
constexpr const char* kFewValues[] = {"returned", "lost", "on_hold", "refunded", "disputed"};

std::string ValueName(int i, int distinct) {
  if (distinct <= static_cast<int>(std::size(kFewValues))) return kFewValues[i];
  char buf[32];
  std::snprintf(buf, sizeof buf, "value_%06d", i);
  return buf;
}

std::span<const std::byte> Bytes(const std::string& s) { return AsBytes(s); }

// The Relation message PostgreSQL 15 sends for `orders_other (status)`: the
// column list leaves one column; orders has no primary key, so no column is
// flagged as part of the replica identity.
pgoutput::RelationMessage OrdersOtherRelation() {
  pgoutput::RelationMessage r;
  r.relation_id = kRelationId;
  r.nspname = "public";
  r.relname = "orders_other";
  r.replica_identity = 'd';
  r.columns.push_back(pgoutput::RelationColumn{0, "status", kTextOid, -1});
  return r;
}

std::string EncodeInsert(const std::string& value) {
  pgoutput::InsertMessage m;
  m.relation_id = kRelationId;
  m.new_tuple.columns.push_back({pgoutput::TupleColumn::Kind::kText, value});
  return Encode(m);
}

std::vector<policy::TableRule> OrdersRules() {
  policy::TableRule rule;
  rule.parent = "public.orders";
  rule.parent_relname = "orders";
  rule.default_nspname = "public";
  rule.default_relname = "orders_other";
  rule.key_column = "status";
  rule.threshold = kThreshold;
  rule.action = policy::ActionKind::kCreate;
  return {rule};
}

// A stream of transactions, each Begin + rows_per_txn Inserts + Commit, with
// row k carrying value k % distinct, long enough that every value occurs.
// `payloads` are pgoutput messages; `frames` the same wrapped in XLogData
// ('w', start, end, send time), i.e. the CopyData libpq hands the reader.
struct Workload {
  int rows_per_txn = 0;
  int distinct = 0;
  size_t txns = 0;
  std::string relation;                // sent once per session, before the rest
  std::string relation_frame;
  std::vector<std::string> payloads;   // txns * (rows_per_txn + 2)
  std::vector<std::string> frames;

  size_t messages_per_txn() const { return static_cast<size_t>(rows_per_txn) + 2; }
  size_t rows() const { return txns * static_cast<size_t>(rows_per_txn); }
};

std::string Frame(uint64_t wal_start, uint64_t wal_end, const std::string& payload) {
  WireWriter w;
  w.Tag('w').U64(wal_start).U64(wal_end).I64(0x2c6a1b2f3e4dLL).Raw(payload);
  return w.bytes();
}

Workload MakeWorkload(int rows_per_txn, int distinct, size_t min_txns) {
  Workload w;
  w.rows_per_txn = rows_per_txn;
  w.distinct = distinct;
  const size_t per_txn = static_cast<size_t>(rows_per_txn);
  w.txns = std::max(min_txns, (static_cast<size_t>(distinct) + per_txn - 1) / per_txn);
  std::vector<std::string> inserts;
  for (int i = 0; i < distinct; ++i) inserts.push_back(EncodeInsert(ValueName(i, distinct)));

  uint64_t lsn = 0x16B0000;
  w.relation = Encode(OrdersOtherRelation());
  w.relation_frame = Frame(lsn, lsn, w.relation);
  size_t row = 0;
  for (size_t t = 0; t < w.txns; ++t) {
    const uint64_t begin_lsn = lsn;
    const uint64_t commit_lsn = lsn + 0x40 * static_cast<uint64_t>(rows_per_txn + 1);
    const uint64_t end_lsn = commit_lsn + 0x30;
    const int64_t time = 0x2c6a1b2f3e4dLL + static_cast<int64_t>(t);
    auto add = [&](std::string payload, uint64_t at) {
      w.frames.push_back(Frame(at, at, payload));
      w.payloads.push_back(std::move(payload));
    };
    add(Encode(pgoutput::BeginMessage{Lsn(commit_lsn), time, static_cast<pgoutput::Xid>(1000 + t)}),
        begin_lsn);
    for (int r = 0; r < rows_per_txn; ++r, ++row) {
      add(inserts[row % static_cast<size_t>(distinct)], begin_lsn + 0x40 * (r + 1));
    }
    add(Encode(pgoutput::CommitMessage{0, Lsn(commit_lsn), Lsn(end_lsn), time}), end_lsn);
    lsn = end_lsn + 0x10;
  }
  return w;
}

// A Policy that has seen the Relation message, as after the first
// transaction of a session.
policy::Policy MakePolicy(pgoutput::PgOutputDecoder& decoder, const Workload& w) {
  policy::Policy p(OrdersRules());
  Result<pgoutput::Message> rel = decoder.Decode(Bytes(w.relation));
  if (!rel.ok() || !p.OnMessage(rel.value()).ok()) std::abort();
  return p;
}

// Sum of the counts over the workload's values.
int64_t CountedRows(const policy::Policy& p, const Workload& w) {
  int64_t total = 0;
  for (int i = 0; i < w.distinct; ++i) {
    total += p.count(0, policy::KeyValue::Of(ValueName(i, w.distinct)));
  }
  return total;
}

// Decodes one payload and feeds it to the policy.  False on any error.
bool DecodeAndCount(pgoutput::PgOutputDecoder& decoder, policy::Policy& policy,
                    std::span<const std::byte> bytes) {
  Result<pgoutput::Message> msg = decoder.Decode(bytes);
  if (!msg.ok()) return false;
  Result<policy::PolicyOutput> out = policy.OnMessage(msg.value());
  if (!out.ok() || !out->decisions.empty() || !out->unknown_relations.empty()) return false;
  benchmark::DoNotOptimize(out);
  return true;
}

double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

void SetRowCounters(benchmark::State& state, size_t rows, size_t messages, double cpu_seconds) {
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["msgs/s"] = benchmark::Counter(static_cast<double>(messages),
                                                benchmark::Counter::kIsRate);
  // Seconds per row, printed with an SI prefix ("276n" = 276 ns).
  state.counters["time/row"] = benchmark::Counter(
      static_cast<double>(rows), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if (cpu_seconds >= 0 && rows > 0) {
    // CPU of the whole process (every thread) per row: the in-process
    // counterpart of the CPU per replicated row that stream_bench.sh reports.
    state.counters["cpu_ns/row"] = cpu_seconds * 1e9 / static_cast<double>(rows);
  }
}

// ---------------------------------------------------------------------------
// (a) Decoding single messages.

void DecodeOne(benchmark::State& state, const std::string& payload) {
  pgoutput::PgOutputDecoder decoder(kProtoVersion);
  const auto bytes = Bytes(payload);
  for (auto _ : state) {
    Result<pgoutput::Message> m = decoder.Decode(bytes);
    if (!m.ok()) {
      state.SkipWithError(m.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(payload.size()));
}

// The Insert partwatch sees for every row that lands in DEFAULT: one text
// column ("returned", 8 bytes).  21 bytes on the wire.
void BM_DecodeInsert_OneTextKey(benchmark::State& state) {
  DecodeOne(state, EncodeInsert("returned"));
}
BENCHMARK(BM_DecodeInsert_OneTextKey);

void BM_DecodeBegin(benchmark::State& state) {
  DecodeOne(state, Encode(pgoutput::BeginMessage{Lsn(0x16B3748), 0x2c6a1b2f3e4dLL, 1234}));
}
BENCHMARK(BM_DecodeBegin);

void BM_DecodeCommit(benchmark::State& state) {
  DecodeOne(state, Encode(pgoutput::CommitMessage{0, Lsn(0x16B3748), Lsn(0x16B3778), 1}));
}
BENCHMARK(BM_DecodeCommit);

void BM_DecodeRelation(benchmark::State& state) {
  DecodeOne(state, Encode(OrdersOtherRelation()));
}
BENCHMARK(BM_DecodeRelation);

std::string LoadFixtureMessage(const char* file, size_t index) {
  std::ifstream in(std::string(PARTWATCH_FIXTURE_DIR) + "/" + file);
  std::string line;
  for (size_t i = 0; std::getline(in, line); ++i) {
    if (i != index) continue;
    std::string bytes;
    for (size_t j = 0; j + 1 < line.size(); j += 2) {
      bytes.push_back(static_cast<char>(std::stoi(line.substr(j, 2), nullptr, 16)));
    }
    return bytes;
  }
  return {};
}

// A real Insert captured from PostgreSQL 15.18 (fixtures/v1_insert.hex,
// message 3): four columns (id, name and an enum value in text form, a NULL
// note), 33 bytes.
void BM_DecodeInsert_Captured4Columns(benchmark::State& state) {
  const std::string payload = LoadFixtureMessage("v1_insert.hex", 3);
  if (payload.empty() || payload[0] != 'I') {
    state.SkipWithError("cannot load fixtures/v1_insert.hex message 3");
    for (auto _ : state) {
    }
    return;
  }
  DecodeOne(state, payload);
}
BENCHMARK(BM_DecodeInsert_Captured4Columns);

// The walsender framing around each message (what the reader thread parses).
void BM_DecodeCopyData_XLogData(benchmark::State& state) {
  const std::string frame = Frame(0x16B3748, 0x16B3748, EncodeInsert("returned"));
  const auto bytes = Bytes(frame);
  for (auto _ : state) {
    Result<walsender::CopyMessage> m = walsender::DecodeCopyMessage(bytes);
    if (!m.ok()) {
      state.SkipWithError(m.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeCopyData_XLogData);

// ---------------------------------------------------------------------------
// (b) Decode + Policy::OnMessage, one transaction per iteration.
//
// Args: rows per transaction (1 = pgbench's single-row inserts), distinct
// values.  The policy first sees the whole workload once (untimed), so the
// timed part runs in the steady state where every value is already tracked.

void BM_DecodeAndCount(benchmark::State& state) {
  const int rows_per_txn = static_cast<int>(state.range(0));
  const int distinct = static_cast<int>(state.range(1));
  const Workload w = MakeWorkload(rows_per_txn, distinct, 1000);
  pgoutput::PgOutputDecoder decoder(kProtoVersion);

  const size_t heap_before = mallinfo2().uordblks;
  policy::Policy policy = MakePolicy(decoder, w);
  for (const std::string& p : w.payloads) {
    if (!DecodeAndCount(decoder, policy, Bytes(p))) std::abort();
  }
  const size_t heap_after = mallinfo2().uordblks;

  const size_t per_txn = w.messages_per_txn();
  size_t txn = 0;
  size_t timed_txns = 0;
  for (auto _ : state) {
    const size_t first = txn * per_txn;
    for (size_t i = 0; i < per_txn; ++i) {
      if (!DecodeAndCount(decoder, policy, Bytes(w.payloads[first + i]))) {
        state.SkipWithError("decode or policy error");
        break;
      }
    }
    if (++txn == w.txns) txn = 0;
    ++timed_txns;
  }
  const size_t rows = timed_txns * static_cast<size_t>(rows_per_txn);
  SetRowCounters(state, rows, timed_txns * per_txn, -1);
  state.counters["tracked_values"] = static_cast<double>(policy.tracked_values());
  state.counters["heap_B/value"] =
      static_cast<double>(heap_after - heap_before) / static_cast<double>(policy.tracked_values());
  // Every row counted exactly once, unless the policy's memory bound made it
  // evict values (then counts are upper bounds by design).
  if (policy.tracked_values() >= static_cast<size_t>(w.distinct) &&
      CountedRows(policy, w) != static_cast<int64_t>(w.rows() + rows)) {
    state.SkipWithError("policy counted a different number of rows than were streamed");
  }
}
BENCHMARK(BM_DecodeAndCount)
    ->ArgNames({"rows_per_txn", "distinct"})
    ->Args({1, 5})
    ->Args({1, 100'000})
    ->Args({100, 5})
    ->Args({100, 100'000})
    // More distinct values than the policy holds (TableRule::max_tracked_values,
    // 100,000 by default): the steady state evicts the lower half again and
    // again (the memory bound of policy/policy.h).
    ->Args({100, 1'000'000});

// ---------------------------------------------------------------------------
// (c) The reader -> policy hand-off.
//
// ReaderSide does, per CopyData frame, what replication::Reader does after
// PQgetCopyData: the frame is in a malloc'd buffer it owns (libpq's
// PQgetCopyData mallocs and copies each message; here malloc + memcpy stand in
// for it, and PqBuffer frees it with PQfreemem, i.e. free()), the walsender
// framing is parsed, the stats are bumped and a WalEvent is built.
// PolicySide does what the policy thread in src/runner.cc does per batch of
// events: poll the (empty) outcome queue and the clock, decode and
// Policy::OnMessage each event and free its buffer, publish the accounted
// LSN.

struct PolicySide {
  explicit PolicySide(const Workload& w)
      : decoder(kProtoVersion), policy(MakePolicy(decoder, w)) {}

  bool HandleBatch(std::span<replication::WalEvent> events) {
    policy::Outcome outcome;
    while (outcomes.try_dequeue(outcome)) policy.OnOutcome(outcome);
    benchmark::DoNotOptimize(std::chrono::steady_clock::now());  // the re-decide check
    for (replication::WalEvent& ev : events) {
      const auto* base = reinterpret_cast<const std::byte*>(ev.buffer.get());
      if (!DecodeAndCount(decoder, policy,
                          std::span<const std::byte>(base + ev.payload_offset, ev.payload_size))) {
        return false;
      }
      ev.buffer.reset();
    }
    accounted.store(policy.accounted_lsn().value(), std::memory_order_release);
    return true;
  }

  pgoutput::PgOutputDecoder decoder;
  policy::Policy policy;
  moodycamel::ConcurrentQueue<policy::Outcome> outcomes;
  std::atomic<uint64_t> accounted{0};
};

struct ReaderSide {
  // Returns false on a framing error.
  bool MakeEvent(const std::string& frame, replication::WalEvent* ev) {
    char* raw = static_cast<char*>(std::malloc(frame.size()));
    std::memcpy(raw, frame.data(), frame.size());
    pg::PqBuffer buffer(raw);
    const auto* bytes = reinterpret_cast<const std::byte*>(raw);
    Result<walsender::CopyMessage> msg =
        walsender::DecodeCopyMessage(std::span<const std::byte>(bytes, frame.size()));
    if (!msg.ok()) return false;
    const auto* x = std::get_if<walsender::XLogData>(&msg.value());
    if (x == nullptr) return false;
    messages.fetch_add(1, std::memory_order_relaxed);
    bytes_read.fetch_add(frame.size(), std::memory_order_relaxed);
    ev->kind = replication::WalEvent::Kind::kData;
    ev->wal_start = x->wal_start;
    ev->wal_end = x->wal_end;
    ev->payload_offset = static_cast<size_t>(x->payload.data() - bytes);
    ev->payload_size = x->payload.size();
    ev->buffer = std::move(buffer);
    return true;
  }

  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bytes_read{0};
};

// Batches of at least this many transactions per iteration, so thread
// start-up and the final drain are noise.
constexpr size_t kPipelineMinTxns = 20'000;

// Both sides on one thread, no queue: the floor the hand-off is compared to.
void BM_Pipeline_Inline(benchmark::State& state) {
  const Workload w = MakeWorkload(static_cast<int>(state.range(0)),
                                  static_cast<int>(state.range(1)), kPipelineMinTxns);
  ReaderSide reader;
  PolicySide policy(w);
  replication::WalEvent ev;
  const double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    for (const std::string& frame : w.frames) {
      if (!reader.MakeEvent(frame, &ev) || !policy.HandleBatch(std::span(&ev, 1))) {
        state.SkipWithError("pipeline error");
        break;
      }
      ev = replication::WalEvent();
    }
  }
  SetRowCounters(state, state.iterations() * w.rows(), state.iterations() * w.frames.size(),
                 ProcessCpuSeconds() - cpu_before);
}

int64_t ThreadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The policy thread of src/runner.cc around a PolicySide: takes up to 256
// events at a time with wait_dequeue_bulk_timed() (100 ms timeout), handles
// them, and measures its own CPU time.
template <typename Queue>
class PolicyThread {
 public:
  PolicyThread(Queue& queue, PolicySide& side)
      : queue_(queue), side_(side), thread_([this] { Run(); }) {}
  ~PolicyThread() { Stop(); }

  // Waits until `n` events have been handled in all.
  void WaitConsumed(uint64_t n) const {
    while (consumed_.load(std::memory_order_acquire) < n) std::this_thread::yield();
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  bool failed() const { return failed_.load(); }
  // CPU time the thread used from its first event until it stopped; valid
  // after Stop().
  int64_t cpu_nanos() const { return cpu_nanos_.load(); }

 private:
  void Run() {
    constexpr auto kQueueWait = std::chrono::milliseconds(100);  // as in runner.cc
    std::vector<replication::WalEvent> batch(256);                 // as in runner.cc
    int64_t cpu_start = -1;
    for (;;) {
      const size_t got = queue_.wait_dequeue_bulk_timed(batch.begin(), batch.size(), kQueueWait);
      if (got == 0) {
        if (stop_.load()) break;
        continue;
      }
      if (cpu_start < 0) cpu_start = ThreadCpuNanos();
      if (!side_.HandleBatch(std::span(batch.data(), got))) failed_.store(true);
      consumed_.fetch_add(got, std::memory_order_release);
    }
    // Read once at the end (a thread CPU clock read is a system call): this
    // adds the last idle wait, a few microseconds of spinning, to the total.
    if (cpu_start >= 0) cpu_nanos_.store(ThreadCpuNanos() - cpu_start);
  }

  Queue& queue_;
  PolicySide& side_;
  std::atomic<uint64_t> consumed_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int64_t> cpu_nanos_{0};
  std::thread thread_;
};

constexpr size_t kMaxQueuedEvents = 20'000;  // as in stream.cc
constexpr size_t kMaxBatch = 256;             // as in stream.cc

// The reader side hands `events` over with one enqueue_bulk(), as
// replication::Reader::Flush() does with what one socket read delivered.
template <typename Queue>
void HandOver(Queue& queue, std::vector<replication::WalEvent>& events) {
  queue.enqueue_bulk(std::make_move_iterator(events.begin()), events.size());
  events.clear();
}

// The reader side on the benchmark thread, the policy side on a second thread,
// a BlockingConcurrentQueue<WalEvent> between them, used as src/runner.cc and
// src/replication/stream.cc use it: enqueue_bulk() of up to 256 events (a
// socket read's worth when the server sends faster than partwatch reads),
// wait_dequeue_bulk_timed(), and the reader backing off while more than
// 20,000 events are queued.  The reader produces as fast as it can: this is
// the pipeline's throughput when the server sends faster than partwatch
// reads.
template <typename Queue>
void BM_Pipeline_Queue(benchmark::State& state) {
  const Workload w = MakeWorkload(static_cast<int>(state.range(0)),
                                  static_cast<int>(state.range(1)), kPipelineMinTxns);
  ReaderSide reader;
  PolicySide side(w);
  Queue queue;
  PolicyThread<Queue> policy_thread(queue, side);
  bool failed = false;
  uint64_t produced = 0;
  std::vector<replication::WalEvent> pending;
  pending.reserve(kMaxBatch);
  const double cpu_before = ProcessCpuSeconds();
  for (auto _ : state) {
    for (const std::string& frame : w.frames) {
      while (queue.size_approx() > kMaxQueuedEvents) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      replication::WalEvent ev;
      if (!reader.MakeEvent(frame, &ev)) {
        failed = true;
        break;
      }
      pending.push_back(std::move(ev));
      ++produced;
      if (pending.size() >= kMaxBatch) HandOver(queue, pending);
    }
    HandOver(queue, pending);
    // A batch is done when the policy thread has counted all of it.
    policy_thread.WaitConsumed(produced);
  }
  const double cpu = ProcessCpuSeconds() - cpu_before;
  policy_thread.Stop();
  if (failed || policy_thread.failed()) state.SkipWithError("pipeline error");
  const size_t rows = state.iterations() * w.rows();
  SetRowCounters(state, rows, produced, cpu);
  state.counters["policy_thread_cpu_ns/msg"] =
      static_cast<double>(policy_thread.cpu_nanos()) / static_cast<double>(produced);
}

// A live stream is much slower than the pipeline (stream_bench.sh: 16,000 to
// 19,000 messages a second from the walsender, most of them keepalives that
// the reader coalesces, arriving one or two per socket read), so the policy
// thread goes to sleep on the queue's semaphore after each hand-over and
// must be woken for the next.  Here the
// reader hands over one event every `gap_us` microseconds (sleeping in
// between, as the real reader sleeps in poll()), and the policy thread's own
// CPU time per message is measured: decode + count + the wake-up.  Real time
// is meaningless here (it is the pacing); read policy_thread_cpu_ns/msg.
template <typename Queue>
void BM_Pipeline_QueuePaced(benchmark::State& state) {
  const Workload w = MakeWorkload(1, 5, 1000);
  const auto gap = std::chrono::microseconds(state.range(0));
  constexpr size_t kEvents = 3000;
  ReaderSide reader;
  PolicySide side(w);
  Queue queue;
  PolicyThread<Queue> policy_thread(queue, side);
  bool failed = false;
  uint64_t produced = 0;
  std::vector<replication::WalEvent> pending;
  for (auto _ : state) {
    for (size_t i = 0; i < kEvents; ++i) {
      replication::WalEvent ev;
      if (!reader.MakeEvent(w.frames[i % w.frames.size()], &ev)) {
        failed = true;
        break;
      }
      pending.push_back(std::move(ev));
      HandOver(queue, pending);
      ++produced;
      std::this_thread::sleep_for(gap);
    }
    policy_thread.WaitConsumed(produced);
  }
  policy_thread.Stop();
  if (failed || policy_thread.failed()) state.SkipWithError("pipeline error");
  state.counters["msgs"] = static_cast<double>(produced);
  state.counters["msgs/s"] = benchmark::Counter(static_cast<double>(produced),
                                                benchmark::Counter::kIsRate);
  state.counters["policy_thread_cpu_ns/msg"] =
      static_cast<double>(policy_thread.cpu_nanos()) / static_cast<double>(produced);
}

BENCHMARK(BM_Pipeline_Inline)
    ->ArgNames({"rows_per_txn", "distinct"})
    ->Args({1, 5})
    ->Args({1, 100'000})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// moodycamel's blocking queue spins MAX_SEMA_SPINS times on its semaphore
// before it sleeps in the kernel: 10,000 by default, 100 in
// replication::WalQueue (since commit 28d64cb).  The variants compare.
template <int kSpins>
struct SemaSpinTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static const int MAX_SEMA_SPINS = kSpins;
};
template <int kSpins>
using WalQueueSpins =
    moodycamel::BlockingConcurrentQueue<replication::WalEvent, SemaSpinTraits<kSpins>>;

BENCHMARK_TEMPLATE(BM_Pipeline_Queue, replication::WalQueue)
    ->ArgNames({"rows_per_txn", "distinct"})
    ->Args({1, 5})
    ->Args({1, 100'000})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Pipeline_Queue, WalQueueSpins<10'000>)
    ->ArgNames({"rows_per_txn", "distinct"})
    ->Args({1, 5})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// gap_us 300: about 3,000 hand-overs a second; 30: about 12,000 (sleep_for
// overshoots), near the 16,000-19,000 messages a second of stream_bench.sh.
BENCHMARK_TEMPLATE(BM_Pipeline_QueuePaced, replication::WalQueue)
    ->ArgName("gap_us")
    ->Arg(300)
    ->Arg(30)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Pipeline_QueuePaced, WalQueueSpins<10'000>)
    ->ArgName("gap_us")
    ->Arg(300)
    ->Arg(30)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Pipeline_QueuePaced, WalQueueSpins<0>)
    ->ArgName("gap_us")
    ->Arg(300)
    ->Arg(30)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace partwatch

BENCHMARK_MAIN();
