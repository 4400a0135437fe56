// wal2json_bench: how fast a wal2json recording turns into replay Items
// (the target: at least 1 M inserted rows per second per core).  A
// benchmark, not a test: not registered with ctest; docs/benchmarks.md
// says how to run it and what the numbers were.
//
// The input is generated in memory in the shape wal2json 2.5 prints for
// tests/data/wal2json/schema.sql's orders table (8 columns: bigint, text,
// integer, boolean, numeric(12,2), date, timestamptz, bigint) with
// include-xids, include-timestamp and include-lsn on, as
// tests/data/wal2json/v2_all.json shows; about 2 M insert lines
// (PARTWATCH_BENCH_ROWS overrides), 1 or 100 rows per transaction.
// PARTWATCH_BENCH_KEEP=DIR keeps the generated files in DIR.
//
//   BM_Decode*   the converter alone over lines already in memory
//                (decoder/wal2json.h), the buffer cleared per document as
//                the source does
//   BM_Source*   the whole source over a file in the page cache
//                (read, framing, conversion, Items handed out one by one
//                through Next into one Item, as the engine does)
//   BM_SourceAndPolicy  the same, each Item fed to policy::Policy
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/wal2json.h"
#include "policy/policy.h"
#include "src/replay/wal2json_source.h"

namespace partwatch {
namespace {

constexpr const char* kStatuses[] = {"returned", "lost", "on_hold", "refunded", "disputed"};

size_t BenchRows() {
  const char* env = std::getenv("PARTWATCH_BENCH_ROWS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 2'000'000;
}

std::string LsnText(uint64_t lsn) { return Lsn(lsn).ToString(); }

// "2026-12-02 16:22:35.911305+00" plus `micros`.
std::string Timestamp(int64_t micros) {
  const int64_t s = 35 + micros / 1'000'000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "2026-12-02 %02lld:%02lld:%02lld.%06lld+00",
                static_cast<long long>(16 + s / 3600 % 8), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60), static_cast<long long>(micros % 1'000'000));
  return buf;
}

// A v2 recording: B, rows_per_txn I, C per transaction.
std::string MakeV2(size_t rows, size_t rows_per_txn, size_t* lines) {
  std::string out;
  out.reserve(rows * 520 + rows / rows_per_txn * 260);
  uint64_t lsn = 0x1517D98;
  *lines = 0;
  char row[1024];
  for (size_t r = 0, txn = 0; r < rows; ++txn) {
    const std::string ts = Timestamp(static_cast<int64_t>(txn) * 137);
    const uint64_t commit = lsn + 0x68 * rows_per_txn;
    auto bc = [&](const char* action) {
      out += "{\"action\":\"";
      out += action;
      out += "\",\"xid\":" + std::to_string(734 + txn) + ",\"timestamp\":\"" + ts +
             "\",\"lsn\":\"" + LsnText(commit) + "\",\"nextlsn\":\"" + LsnText(commit + 0x30) +
             "\"}\n";
      ++*lines;
    };
    bc("B");
    for (size_t i = 0; i < rows_per_txn && r < rows; ++i, ++r) {
      std::snprintf(
          row, sizeof row,
          "{\"action\":\"I\",\"xid\":%zu,\"timestamp\":\"%s\",\"lsn\":\"%s\",\"schema\":\"public\","
          "\"table\":\"orders_default\",\"columns\":[{\"name\":\"id\",\"type\":\"bigint\","
          "\"value\":%zu},{\"name\":\"status\",\"type\":\"text\",\"value\":\"%s\"},{\"name\":"
          "\"qty\",\"type\":\"integer\",\"value\":%zu},{\"name\":\"paid\",\"type\":\"boolean\","
          "\"value\":%s},{\"name\":\"amount\",\"type\":\"numeric(12,2)\",\"value\":%zu.%02zu},{"
          "\"name\":\"day\",\"type\":\"date\",\"value\":\"2026-%02zu-%02zu\"},{\"name\":"
          "\"created\",\"type\":\"timestamp with time zone\",\"value\":\"%s\"},{\"name\":\"big\","
          "\"type\":\"bigint\",\"value\":%zu}]}\n",
          734 + txn, ts.c_str(), LsnText(lsn + 0x68 * i).c_str(), r, kStatuses[r % 5], r % 10,
          r % 2 ? "true" : "false", r % 1000, r % 100, 1 + r % 12, 1 + r % 28, ts.c_str(),
          r * 7919);
      out += row;
      ++*lines;
    }
    bc("C");
    lsn = commit + 0x30;
  }
  return out;
}

struct Input {
  std::string text;
  size_t lines = 0;
  size_t rows = 0;
  std::string path;  // the same text in a file
};

const Input& GetInput(size_t rows_per_txn) {
  static Input inputs[2];
  Input& in = inputs[rows_per_txn == 1 ? 0 : 1];
  if (in.text.empty()) {
    in.rows = BenchRows();
    in.text = MakeV2(in.rows, rows_per_txn, &in.lines);
    // PARTWATCH_BENCH_KEEP=DIR keeps the files there (for a profiler).
    const char* keep = std::getenv("PARTWATCH_BENCH_KEEP");
    if (keep != nullptr) {
      in.path = std::string(keep) + "/wal2json_bench_" + std::to_string(rows_per_txn) + ".json";
    } else {
      char path[] = "/tmp/wal2json_bench.XXXXXX";
      const int fd = mkstemp(path);
      if (fd < 0) std::abort();
      close(fd);
      in.path = path;
      std::atexit([] {
        for (const Input& i : inputs) {
          if (!i.path.empty()) std::remove(i.path.c_str());
        }
      });
    }
    std::ofstream(in.path, std::ios::binary) << in.text;
  }
  return in;
}

void SetCounters(benchmark::State& state, const Input& in) {
  state.SetItemsProcessed(static_cast<int64_t>(in.rows) * state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(in.text.size()) * state.iterations());
  state.counters["rows"] = static_cast<double>(in.rows);
  state.counters["lines"] = static_cast<double>(in.lines);
}

void BM_DecodeV2(benchmark::State& state) {
  const Input& in = GetInput(static_cast<size_t>(state.range(0)));
  // Lines as views into a padded copy, found beforehand: the converter alone.
  std::string padded = in.text + std::string(wal2json::Wal2JsonDecoder::kPadding, ' ');
  std::vector<std::string_view> lines;
  lines.reserve(in.lines);
  for (size_t p = 0; p < in.text.size();) {
    const size_t nl = in.text.find('\n', p);
    lines.emplace_back(padded.data() + p, nl - p);
    p = nl + 1;
  }
  for (auto _ : state) {
    wal2json::Wal2JsonDecoder decoder;
    wal2json::OutputBuffer out;
    size_t inserts = 0;
    for (std::string_view line : lines) {
      out.clear();
      Result<wal2json::DocumentInfo> r = decoder.DecodePadded(line, &out);
      if (!r.ok()) {
        state.SkipWithError(r.error().message.c_str());
        return;
      }
      inserts += r->action == 'I';
      benchmark::DoNotOptimize(out[0]);
    }
    if (inserts != in.rows) state.SkipWithError("row count");
  }
  SetCounters(state, in);
}
BENCHMARK(BM_DecodeV2)->ArgName("rows_per_txn")->Arg(1)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_SourceV2(benchmark::State& state) {
  const Input& in = GetInput(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    replay::Wal2JsonSource source(in.path);
    replay::Item item;
    size_t inserts = 0;
    while (source.Next(&item)) {
      inserts += std::holds_alternative<pgoutput::InsertMessage>(item.message);
    }
    if (inserts != in.rows) state.SkipWithError("row count");
  }
  SetCounters(state, in);
}
BENCHMARK(BM_SourceV2)->ArgName("rows_per_txn")->Arg(1)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_SourceAndPolicy(benchmark::State& state) {
  const Input& in = GetInput(static_cast<size_t>(state.range(0)));
  policy::TableRule rule;
  rule.parent = "public.orders";
  rule.parent_relname = "orders";
  rule.default_nspname = "public";
  rule.default_relname = "orders_default";
  rule.key_column = "status";
  rule.threshold = 1'000'000'000;  // never crossed: counting, not decisions
  for (auto _ : state) {
    replay::Wal2JsonSource source(in.path);
    policy::Policy policy({rule});
    replay::Item item;
    while (source.Next(&item)) {
      Result<policy::PolicyOutput> out = policy.OnMessage(item.message);
      if (!out.ok()) {
        state.SkipWithError(out.error().message.c_str());
        return;
      }
      benchmark::DoNotOptimize(out);
    }
    int64_t counted = 0;
    for (const char* s : kStatuses) counted += policy.count(0, policy::KeyValue::Of(s));
    if (counted != static_cast<int64_t>(in.rows)) state.SkipWithError("count");
  }
  SetCounters(state, in);
}
BENCHMARK(BM_SourceAndPolicy)
    ->ArgName("rows_per_txn")
    ->Arg(1)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace partwatch

BENCHMARK_MAIN();
