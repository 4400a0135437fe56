// Reading a wal2json file (src/replay/wal2json_source.h): framing documents
// in a chunk buffer and handing each to the decoder without a copy.
//
// Most documents are one line (v2; v1 without pretty-print), so the fast
// path takes the line up to the next newline and decodes it whole.  Only
// when that fails, or the line does not look like one document, is the
// exact extent found by scanning braces and strings: that handles a
// document over many lines, two documents on one line, and damage.  A
// document is known to be cut short when a newline comes inside a string
// (JSON escapes newlines, wal2json too), when a v2 record's line ends
// before its closing brace (v2 is always one line), or when the next line
// starts a new top-level document ("{" alone, or "{" with one of the keys
// wal2json starts with); the next document is then read normally.

#include "src/replay/wal2json_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace partwatch::replay {

namespace {

using wal2json::Wal2JsonDecoder;

// Output entries kept for reuse once a document's messages are handed out
// (a v1 document can hold a huge transaction).
constexpr size_t kKeepOutputs = 4096;
// Skipped documents named one by one in warnings(); the rest are counted.
constexpr size_t kNamedSkips = 10;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

enum class Answer { kNo, kYes, kUnknown };

// Whether the line starting at `p` starts a top-level document: "{" alone,
// or "{" and one of the keys wal2json begins a document with.  Inside a
// document, lines start otherwise: a tab (pretty-print), `{"kind"` or
// `,{"kind"` or `]}` (write-in-chunks).  kUnknown: more bytes are needed.
Answer StartsDocument(const char* p, const char* end, bool eof) {
  const Answer unknown = eof ? Answer::kNo : Answer::kUnknown;
  if (p == end) return unknown;
  if (*p != '{') return Answer::kNo;
  ++p;
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  if (p == end) return eof ? Answer::kYes : Answer::kUnknown;
  if (*p == '\n' || *p == '\r') return Answer::kYes;
  if (*p != '"') return Answer::kNo;
  ++p;
  static constexpr std::string_view kKeys[] = {"action\"", "xid\"", "nextlsn\"", "timestamp\"",
                                               "change\""};
  bool maybe = false;
  const size_t available = static_cast<size_t>(end - p);
  for (std::string_view key : kKeys) {
    const size_t n = std::min(key.size(), available);
    if (std::memcmp(p, key.data(), n) != 0) continue;
    if (n == key.size()) return Answer::kYes;
    maybe = true;
  }
  return maybe ? unknown : Answer::kNo;
}

// `{"action"` (spaces allowed): a v2 record, which is always one line.
bool StartsV2(const char* p, const char* end) {
  ++p;  // '{'
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  constexpr std::string_view kAction = "\"action\"";
  return static_cast<size_t>(end - p) >= kAction.size() &&
         std::memcmp(p, kAction.data(), kAction.size()) == 0;
}

struct Extent {
  enum class Kind {
    kComplete,         // braces balanced at `end`
    kNewlineInString,  // cut short: `end` is that newline
    kLineEnd,          // a v2 record's line ends first: `end` is the newline
    kNextDocument,     // the next line starts a document: `end` is the newline
    kEndOfInput,       // the input ends first
    kNeedMore,         // undecided with the bytes at hand
  };
  Kind kind;
  size_t end = 0;
};

const char* CutShortReason(Extent::Kind kind) {
  switch (kind) {
    case Extent::Kind::kNewlineInString:
      return "a newline inside a string";
    case Extent::Kind::kLineEnd:
      return "the line ends before the closing brace";
    case Extent::Kind::kNextDocument:
      return "the next document starts before the closing brace";
    case Extent::Kind::kEndOfInput:
      return "the file ends before the closing brace";
    default:
      return "";
  }
}

}  // namespace

Wal2JsonSource::Wal2JsonSource(std::string path) : Wal2JsonSource(std::move(path), Options()) {}

Wal2JsonSource::Wal2JsonSource(std::string path, Options options)
    : name_(path == "-" ? "stdin" : path), options_(options) {
  options_.chunk_bytes = std::max<size_t>(options_.chunk_bytes, 1);
  options_.max_document_bytes = std::max(options_.max_document_bytes, options_.chunk_bytes);
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw ReplayError(name_ + ": " + std::strerror(errno));
    owns_fd_ = true;
  }
  struct stat st;
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode))
    bytes_total_ = static_cast<uint64_t>(st.st_size);
  capacity_ = options_.chunk_bytes;
  buffer_.reset(new char[capacity_ + Wal2JsonDecoder::kPadding]());
}

Wal2JsonSource::~Wal2JsonSource() {
  if (owns_fd_) ::close(fd_);
}

bool Wal2JsonSource::Next(Item* item) {
  if (!error_.empty()) throw ReplayError(error_);
  while (next_output_ == outputs_.size()) {
    outputs_.clear();
    outputs_.ShrinkTo(kKeepOutputs);
    next_output_ = 0;
    if (!ReadDocument()) return false;
  }
  wal2json::Output& out = outputs_[next_output_++];
  item->kind = Item::Kind::kMessage;
  item->lsn = out.lsn;
  // The caller's previous message comes back to the buffer, to be reused.
  std::swap(item->message, out.message);
  item->tables_json.clear();
  if (!decoder_.lsns_real()) {
    // Recorded without include-lsn: the positions are only a count, and
    // must not de-duplicate against, or be filtered like, real ones.
    item->lsn = Lsn();
    if (auto* b = std::get_if<pgoutput::BeginMessage>(&item->message)) b->final_lsn = Lsn();
    if (auto* c = std::get_if<pgoutput::CommitMessage>(&item->message))
      c->commit_lsn = c->end_lsn = Lsn();
  }
  return true;
}

std::vector<std::string> Wal2JsonSource::warnings() const {
  std::vector<std::string> all = warnings_;
  if (skipped_ > static_cast<int64_t>(kNamedSkips)) {
    all.push_back(name_ + ": " + std::to_string(skipped_ - static_cast<int64_t>(kNamedSkips)) +
                  " more bad documents skipped");
  }
  return all;
}

std::string Wal2JsonSource::Where(int64_t line) const { return name_ + ":" + std::to_string(line); }

bool Wal2JsonSource::ReadDocument() {
  for (;;) {
    const char* b = buffer_.get();
    size_t p = begin_;
    while (p < end_ && IsSpace(b[p])) {
      if (b[p] == '\n') ++line_;
      ++p;
    }
    begin_ = p;
    if (p == end_) {
      if (eof_) return false;
      Refill();
      continue;
    }
    const void* newline = std::memchr(b + p, '\n', end_ - p);
    if (newline == nullptr && !eof_) {
      Refill();
      continue;
    }
    const size_t line_end = newline ? static_cast<const char*>(newline) - b : end_;

    // Fast path: the line is one document.
    size_t last = line_end;
    while (last > p && IsSpace(b[last - 1])) --last;
    if (b[p] == '{' && b[last - 1] == '}') {
      Result<wal2json::DocumentInfo> r =
          decoder_.DecodePadded(std::string_view(b + p, last - p), &outputs_);
      if (r.ok()) {
        ++records_;
        begin_ = line_end;  // no newline inside
        return true;
      }
    }

    if (b[p] != '{') {  // not a JSON object: the decoder says what it is
      Result<wal2json::DocumentInfo> r =
          decoder_.DecodePadded(std::string_view(b + p, last - p), &outputs_);
      Bad(line_end, r.ok() ? "not a document" : r.error().message);
      return true;
    }

    // The exact extent.
    const bool v2 = StartsV2(b + p, b + line_end);
    Extent x{Extent::Kind::kNeedMore};
    int64_t depth = 0;
    bool in_string = false;
    size_t q = p;
    for (; q < end_; ++q) {
      const char c = b[q];
      if (in_string) {
        if (c == '"') {
          in_string = false;
        } else if (c == '\\') {
          if (q + 1 < end_ && b[q + 1] != '\n') ++q;
        } else if (c == '\n') {
          x = {Extent::Kind::kNewlineInString, q};
          break;
        }
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          x = {Extent::Kind::kComplete, q + 1};
          break;
        }
      } else if (c == '\n') {
        if (v2) {
          x = {Extent::Kind::kLineEnd, q};
          break;
        }
        const Answer next = StartsDocument(b + q + 1, b + end_, eof_);
        if (next == Answer::kYes) {
          x = {Extent::Kind::kNextDocument, q};
          break;
        }
        if (next == Answer::kUnknown) break;  // kNeedMore
      }
    }
    if (q == end_ && eof_) x = {Extent::Kind::kEndOfInput, end_};

    switch (x.kind) {
      case Extent::Kind::kNeedMore:
        Refill();
        continue;
      case Extent::Kind::kComplete: {
        Result<wal2json::DocumentInfo> r =
            decoder_.DecodePadded(std::string_view(b + p, x.end - p), &outputs_);
        if (!r.ok()) {
          Bad(x.end, r.error().message);
          return true;
        }
        ++records_;
        Consume(x.end);
        return true;
      }
      default: {
        // Cut short.  Nothing but whitespace after it: the torn tail of a
        // recording that stopped mid-write, not damage.
        size_t rest = x.end;
        while (rest < end_ && IsSpace(b[rest])) ++rest;
        if (rest == end_ && !eof_) {
          Refill();
          continue;
        }
        const std::string reason = std::string("document cut short: ") + CutShortReason(x.kind);
        if (rest == end_) {
          warnings_.push_back(Where(line_) + ": the last document is cut short (" +
                              CutShortReason(x.kind) + "), " + std::to_string(x.end - p) +
                              " bytes ignored: a torn tail, as when pg_recvlogical stops "
                              "mid-write");
          Consume(end_);
          continue;
        }
        Bad(x.end, reason);
        return true;
      }
    }
  }
}

void Wal2JsonSource::Bad(size_t next, const std::string& reason) {
  // The document starts at begin_, on line_.
  const std::string message = Where(line_) + ": " + reason;
  ++records_;
  if (!options_.skip_bad) {
    error_ = message;
    throw ReplayError(message);
  }
  if (skipped_ < static_cast<int64_t>(kNamedSkips)) warnings_.push_back("skipped " + message);
  ++skipped_;
  Consume(next);
}

void Wal2JsonSource::Consume(size_t next) {
  line_ += std::count(buffer_.get() + begin_, buffer_.get() + next, '\n');
  begin_ = next;
}

void Wal2JsonSource::Refill() {
  char* b = buffer_.get();
  const size_t pending = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(b, b + begin_, pending);
    begin_ = 0;
    end_ = pending;
  }
  size_t capacity = capacity_;
  if (end_ == capacity_) {  // one document fills the buffer: grow it
    if (capacity_ >= options_.max_document_bytes) {
      error_ = Where(line_) + ": a document larger than " +
               std::to_string(options_.max_document_bytes) +
               " bytes (format-version 1 holds a whole transaction in one document: "
               "record with format-version=2, or raise the limit)";
      throw ReplayError(error_);
    }
    capacity = std::min(capacity_ * 2, options_.max_document_bytes);
  } else if (capacity_ > options_.chunk_bytes && pending <= options_.chunk_bytes / 2) {
    capacity = options_.chunk_bytes;  // past the large document: back to a chunk
  }
  if (capacity != capacity_) {
    std::unique_ptr<char[]> grown(new char[capacity + Wal2JsonDecoder::kPadding]());
    std::memcpy(grown.get(), b, end_);
    buffer_ = std::move(grown);
    capacity_ = capacity;
    b = buffer_.get();
  }
  for (;;) {
    const ssize_t n = ::read(fd_, b + end_, capacity_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      return;
    }
    if (n == 0) {
      eof_ = true;
      return;
    }
    if (errno != EINTR) {
      error_ = name_ + ": " + std::strerror(errno);
      throw ReplayError(error_);
    }
  }
}

}  // namespace partwatch::replay
