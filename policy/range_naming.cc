#include "policy/range_naming.h"

#include <vector>

#include "policy/calendar.h"
#include "policy/naming.h"
#include "policy/internal.h"

namespace partwatch::policy {

namespace {

using internal::IsDigit;
using internal::IsIdentifierByte;

// ASCII lower-case, then every byte outside [a-z0-9_] becomes '_'.
std::string Reduce(std::string_view text) { return ReduceToIdentifierBytes(text); }

// A literal as a name part: a negative integer's '-' becomes 'm' (so -10 and
// 10 differ), the rest is reduced.
std::string ReduceLiteral(std::string_view literal) {
  if (literal.starts_with('-')) return "m" + Reduce(literal.substr(1));
  return Reduce(literal);
}

struct TemplatePiece {
  enum class Kind { kText, kParent, kFrom, kTo } kind;
  std::string text;  // kText: the text; kFrom/kTo: the FMT, if any
  bool has_format = false;
};

// Splits a name template into pieces; an error message names the problem.
std::optional<std::string> Tokenize(std::string_view tmpl, std::vector<TemplatePiece>* pieces) {
  const std::string quoted = "\"" + std::string(tmpl) + "\"";
  auto fail = [&quoted](const std::string& what) {
    return "name template " + quoted + ": " + what;
  };
  bool has_from = false;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '}') return fail("unbalanced '}' at offset " + std::to_string(i));
    if (c != '{') {
      if (!IsIdentifierByte(c)) {
        return fail("character '" + std::string(1, c) + "' at offset " + std::to_string(i) +
                    " is not allowed outside placeholders (only [a-z0-9_])");
      }
      if (pieces->empty() || pieces->back().kind != TemplatePiece::Kind::kText) {
        pieces->push_back({TemplatePiece::Kind::kText, "", false});
      }
      pieces->back().text += c;
      continue;
    }
    const size_t close = tmpl.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || tmpl[close] == '{') {
      return fail("unbalanced '{' at offset " + std::to_string(i));
    }
    const std::string_view inner = tmpl.substr(i + 1, close - i - 1);
    const size_t colon = inner.find(':');
    const std::string_view name = inner.substr(0, colon);
    TemplatePiece piece{TemplatePiece::Kind::kText, "", false};
    if (name == "parent" && colon == std::string_view::npos) {
      piece.kind = TemplatePiece::Kind::kParent;
    } else if (name == "from" || name == "to") {
      piece.kind = name == "from" ? TemplatePiece::Kind::kFrom : TemplatePiece::Kind::kTo;
      has_from = has_from || name == "from";
      if (colon != std::string_view::npos) {
        const std::string_view fmt = inner.substr(colon + 1);
        if (fmt.empty()) return fail("empty format in {" + std::string(inner) + "}");
        for (size_t k = 0; k < fmt.size(); ++k) {
          if (fmt[k] == '%') {
            if (k + 1 == fmt.size()) return fail("'%' at the end of {" + std::string(inner) + "}");
            if (kStrftimeCodes.find(fmt[k + 1]) == std::string_view::npos) {
              return fail("unknown format code %" + std::string(1, fmt[k + 1]) + " in {" +
                          std::string(inner) + "} (allowed: %Y %m %d %H %M %S %G %V %q)");
            }
            ++k;
          } else if (!IsIdentifierByte(fmt[k])) {
            return fail("character '" + std::string(1, fmt[k]) + "' in {" + std::string(inner) +
                        "} is not allowed (only [a-z0-9_] and % codes)");
          }
        }
        piece.text = std::string(fmt);
        piece.has_format = true;
      }
    } else {
      return fail("unknown placeholder {" + std::string(inner) +
                  "} (allowed: {parent}, {from}, {from:FMT}, {to}, {to:FMT})");
    }
    pieces->push_back(std::move(piece));
    i = close;
  }
  if (!has_from) return fail("must contain {from} or {from:FMT}");
  return std::nullopt;
}

}  // namespace

std::string PartmanName(std::string_view parent_relname, std::string_view datetime_string,
                        const Bucket& bucket, RangeKeyType type) {
  const std::string suffix =
      "_p" + (type == RangeKeyType::kInteger ? std::to_string(bucket.lo)
                                             : ToChar(bucket.lo, datetime_string));
  const size_t room = suffix.size() < kMaxIdentifierBytes ? kMaxIdentifierBytes - suffix.size() : 0;
  return CutUtf8(parent_relname, room) + suffix;
}

std::optional<std::string> ValidateRangeNameTemplate(std::string_view name_template,
                                                     std::optional<RangeKeyType> type) {
  std::vector<TemplatePiece> pieces;
  if (std::optional<std::string> error = Tokenize(name_template, &pieces)) return error;
  if (type == RangeKeyType::kInteger) {
    for (const TemplatePiece& piece : pieces) {
      if (piece.has_format) {
        return "name template \"" + std::string(name_template) +
               "\": format codes need a date or timestamp key, not an integer key";
      }
    }
  }
  return std::nullopt;
}

std::string RangePartitionName(std::string_view name_template, std::string_view parent_relname,
                               const Bucket& bucket, RangeKeyType type) {
  std::vector<TemplatePiece> pieces;
  if (Tokenize(name_template, &pieces)) {  // REQUIRES broken: fall back to a safe template
    pieces.clear();
    (void)Tokenize("{parent}_p{from}", &pieces);
  }
  std::vector<std::string> rendered;  // "" for {parent}
  for (const TemplatePiece& piece : pieces) {
    std::string s;
    switch (piece.kind) {
      case TemplatePiece::Kind::kText:
        s = piece.text;
        break;
      case TemplatePiece::Kind::kParent:
        break;
      case TemplatePiece::Kind::kFrom:
      case TemplatePiece::Kind::kTo: {
        const bool from = piece.kind == TemplatePiece::Kind::kFrom;
        if (piece.has_format && type != RangeKeyType::kInteger) {
          s = Strftime(from ? bucket.lo : bucket.hi, piece.text);
        } else {
          s = ReduceLiteral(from ? bucket.lo_literal : bucket.hi_literal);
        }
        break;
      }
    }
    rendered.push_back(std::move(s));
  }
  auto assemble = [&](std::string_view parent) {
    std::string name;
    for (size_t i = 0; i < pieces.size(); ++i) {
      name += pieces[i].kind == TemplatePiece::Kind::kParent ? std::string(parent) : rendered[i];
    }
    if (!name.empty() && IsDigit(name[0])) name.insert(0, "p");
    return name;
  };
  // Cut the {parent} parts, a byte at a time (it is ASCII after Reduce),
  // until the name fits; only a template whose other parts alone pass 63
  // bytes loses its end.
  std::string parent = Reduce(parent_relname);
  std::string name = assemble(parent);
  while (name.size() > kMaxIdentifierBytes && !parent.empty()) {
    parent.pop_back();
    name = assemble(parent);
  }
  if (name.size() > kMaxIdentifierBytes) name.resize(kMaxIdentifierBytes);
  return name;
}

std::string DefaultRangeNameTemplate(RangeKeyType type, const RangeInterval& interval) {
  if (type == RangeKeyType::kInteger) return "{parent}_p{from}";
  if (interval.months > 0) {
    return interval.months % 12 == 0 ? "{parent}_p{from:%Y}" : "{parent}_p{from:%Y_%m}";
  }
  if (interval.days > 0) return "{parent}_p{from:%Y_%m_%d}";
  if (interval.micros > 0 && interval.micros % kMicrosPerMinute == 0) {
    return "{parent}_p{from:%Y_%m_%d_%H%M}";
  }
  if (interval.micros > 0 && interval.micros % kMicrosPerSecond == 0) {
    return "{parent}_p{from:%Y_%m_%d_%H%M%S}";
  }
  return "{parent}_p{from}";
}

}  // namespace partwatch::policy
