// Replay speed (docs/benchmarks.md, "Replay"): a synthetic capture of
// N inserted rows (100-row transactions over 1,000 values, the pgoutput
// bytes `run` would record) is written with the capture writer, then read
// back through CaptureSource and the Simulator with 1 and 3 what-if
// scenarios.  Prints rows per second of one core for each.
//
//   build/replay_bench [ROWS] [--zstd]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "src/capture/tables_json.h"
#include "src/capture/writer.h"
#include "src/replay/capture_source.h"
#include "src/replay/simulator.h"
#include "tests/decoder/pgoutput_encoder.h"

using namespace partwatch;

namespace {

replication::WalEvent Event(const std::string& bytes, uint64_t lsn) {
  replication::WalEvent ev;
  ev.wal_start = Lsn(lsn);
  ev.wal_end = Lsn(lsn + 1);
  char* buf = static_cast<char*>(std::malloc(bytes.size()));
  std::memcpy(buf, bytes.data(), bytes.size());
  ev.buffer.reset(buf);
  ev.payload_size = bytes.size();
  return ev;
}

policy::TableRule Orders(int64_t threshold) {
  policy::TableRule r;
  r.parent = "public.orders";
  r.parent_relname = "orders";
  r.default_nspname = "public";
  r.default_relname = "orders_other";
  r.key_column = "status";
  r.threshold = threshold;
  return r;
}

double Replay(const std::string& dir, size_t scenarios, int64_t* rows) {
  replay::TableSetup s;
  s.rule = Orders(100);
  s.strategy = "list";
  for (size_t i = 0; i < scenarios; ++i) s.thresholds.push_back(100 * static_cast<int64_t>(i + 1));
  replay::Simulator sim({s}, {});
  replay::CaptureSource src(dir, false);
  replay::Item item;
  const auto t0 = std::chrono::steady_clock::now();
  while (src.Next(&item)) {
    if (item.kind != replay::Item::Kind::kTables) sim.Feed(item);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  *rows = sim.Finish().tables[0].rows;
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 && argv[1][0] != '-' ? std::atoll(argv[1]) : 3'000'000;
  bool zstd = false;
  for (int i = 1; i < argc; ++i) zstd |= std::strcmp(argv[i], "--zstd") == 0;
  char tmpl[] = "/tmp/partwatch-replay-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = std::string(tmpl) + "/cap";
  {
    CaptureConfig cfg;
    cfg.dir = dir;
    cfg.zstd = zstd;
    cfg.sync_interval = std::chrono::milliseconds(1000);
    capture::Writer w(cfg, capture::SessionInfo{"1", 1, "bench", 2, Lsn(1), "[]"});
    pgoutput::RelationMessage rel;
    rel.relation_id = 1;
    rel.nspname = "public";
    rel.relname = "orders_other";
    rel.replica_identity = 'd';
    rel.columns = {{0, "id", 20, -1},
                   {0, "customer_name", 25, -1},
                   {0, "status", 25, -1},
                   {0, "created_at", 1114, -1}};
    uint64_t lsn = 0x1000000;
    w.Append(Event(pgoutput::testing::Encode(rel), lsn));
    for (int64_t row = 0; row < n;) {
      lsn += 100;
      w.Append(Event(
          pgoutput::testing::Encode(pgoutput::BeginMessage{Lsn(lsn + 99), 1000 + row, 1}), lsn));
      for (int k = 0; k < 100 && row < n; ++k, ++row) {
        pgoutput::InsertMessage ins;
        ins.relation_id = 1;
        ins.new_tuple.columns = {
            {pgoutput::TupleColumn::Kind::kText, std::to_string(row)},
            {pgoutput::TupleColumn::Kind::kText, "Customer"},
            {pgoutput::TupleColumn::Kind::kText, "status_" + std::to_string(row % 1000)},
            {pgoutput::TupleColumn::Kind::kText, "2026-12-02 16:00:00.123456"}};
        w.Append(Event(pgoutput::testing::Encode(ins), lsn + 1 + static_cast<uint64_t>(k)));
      }
      w.Append(Event(pgoutput::testing::Encode(
                         pgoutput::CommitMessage{0, Lsn(lsn + 99), Lsn(lsn + 100), 1000 + row}),
                     lsn + 99));
      w.Processed(Lsn(lsn + 100));
      if (row % 100'000 == 0) w.Flush(false);
    }
  }
  uint64_t bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) bytes += e.file_size();
  std::printf("capture: %lld rows, %.1f MB on disk%s\n", static_cast<long long>(n), bytes / 1e6,
              zstd ? " (zstd)" : "");
  for (size_t scenarios : {1, 3}) {
    int64_t rows = 0;
    const double secs = Replay(dir, scenarios, &rows);
    std::printf("replay, %zu scenario(s): %lld rows in %.2f s = %.2f M rows/s\n", scenarios,
                static_cast<long long>(rows), secs, rows / secs / 1e6);
  }
  std::filesystem::remove_all(tmpl);
  return 0;
}
