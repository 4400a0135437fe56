#include "policy/naming.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace partwatch::policy {
namespace {

// A valid unquoted, lower-case PostgreSQL identifier of at most 63 bytes.
bool IsValidIdentifier(const std::string& name) {
  if (name.empty() || name.size() > kMaxIdentifierBytes) return false;
  const char first = name[0];
  if (!((first >= 'a' && first <= 'z') || first == '_')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string Name(const KeyValue& value) {
  return PartitionName(kDefaultNameTemplate, "orders", value);
}

std::string Name(const std::string& text) { return Name(KeyValue::Of(text)); }

// ---- ShortHash ----

TEST(ShortHashTest, GoldenValues) {
  // FNV-1a 64 over a tag byte (0 NULL, 1 text) and the text, low 32 bits;
  // computed independently.
  EXPECT_EQ(ShortHash(KeyValue::Null()), "8601b7df");
  EXPECT_EQ(ShortHash(KeyValue::Of("")), "8601b62c");
  EXPECT_EQ(ShortHash(KeyValue::Of("returned")), "9a8c4383");
  EXPECT_EQ(ShortHash(KeyValue::Of("Returned")), "05dcb863");
  EXPECT_EQ(ShortHash(KeyValue::Of("null")), "ee4ca8e9");
}

TEST(ShortHashTest, NullDiffersFromEveryShortString) {
  const std::string null_hash = ShortHash(KeyValue::Null());
  EXPECT_NE(null_hash, ShortHash(KeyValue::Of("")));
  EXPECT_NE(null_hash, ShortHash(KeyValue::Of(std::string(1, '\0'))));
  EXPECT_NE(null_hash, ShortHash(KeyValue::Of("null")));
  EXPECT_NE(null_hash, ShortHash(KeyValue::Of("NULL")));
}

// ---- PartitionName ----

TEST(PartitionNameTest, PlainValueHasNoHash) {
  EXPECT_EQ(Name("returned"), "orders_returned");
  EXPECT_EQ(Name("a_1"), "orders_a_1");
}

TEST(PartitionNameTest, MixedCaseGetsHashAndDiffersFromLowerCase) {
  EXPECT_EQ(Name("Returned"), "orders_returned_05dcb863");
  EXPECT_NE(Name("Returned"), Name("returned"));
  EXPECT_NE(Name("Returned"), Name("RETURNED"));
}

TEST(PartitionNameTest, NullDiffersFromTextNull) {
  EXPECT_EQ(Name(KeyValue::Null()), "orders_null_8601b7df");
  EXPECT_EQ(Name("null"), "orders_null");
  EXPECT_NE(Name("NULL"), Name(KeyValue::Null()));
}

TEST(PartitionNameTest, EmptyStringGetsHash) {
  EXPECT_EQ(Name(""), "orders__8601b62c");
  EXPECT_TRUE(IsValidIdentifier(Name("")));
}

TEST(PartitionNameTest, HostileCharactersBecomeUnderscoresPlusHash) {
  const std::string quote = "it's";
  EXPECT_EQ(Name(quote), "orders_it_s_" + ShortHash(KeyValue::Of(quote)));
  const std::string injection = "x\"; DROP TABLE orders; --";
  EXPECT_EQ(Name(injection),
            "orders_x___drop_table_orders_____" + ShortHash(KeyValue::Of(injection)));
  // One '_' per byte of a multi-byte UTF-8 character ("é" is 2 bytes).
  const std::string cafe = "caf\xc3\xa9";
  EXPECT_EQ(Name(cafe), "orders_caf___" + ShortHash(KeyValue::Of(cafe)));
  EXPECT_NE(Name(cafe), Name("caf__"));
}

TEST(PartitionNameTest, ValueThatLooksHashedGetsItsOwnHash) {
  // Without the rule, 'a_<hash of A>' would be named exactly like 'A'.
  const std::string lookalike = "a_" + ShortHash(KeyValue::Of("A"));
  EXPECT_EQ(Name("A"), "orders_" + lookalike);
  EXPECT_EQ(Name(lookalike), "orders_" + lookalike + "_" + ShortHash(KeyValue::Of(lookalike)));
  // Only exactly "_" + 8 lower-case hex digits at the end counts.
  EXPECT_EQ(Name("a_1234567"), "orders_a_1234567");
  EXPECT_EQ(Name("a_1234567g"), "orders_a_1234567g");
}

TEST(PartitionNameTest, LongValueIsCutTo63BytesWithHash) {
  const std::string value(200, 'x');
  const std::string name = Name(value);
  EXPECT_EQ(name.size(), kMaxIdentifierBytes);
  EXPECT_TRUE(IsValidIdentifier(name));
  EXPECT_EQ(name, ("orders_" + value).substr(0, 54) + "_" + ShortHash(KeyValue::Of(value)));
  // Values differing only past the cut still get distinct names.
  EXPECT_NE(name, Name(std::string(199, 'x') + "y"));
}

TEST(PartitionNameTest, LengthBoundary) {
  // "orders_" is 7 bytes: a 56-byte clean value fills exactly 63.
  const std::string fits(56, 'v');
  EXPECT_EQ(Name(fits), "orders_" + fits);
  const std::string too_long(57, 'v');
  const std::string name = Name(too_long);
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.substr(54), "_" + ShortHash(KeyValue::Of(too_long)));
  // A lossy value whose name plus hash would pass 63: cut once, one hash.
  const std::string lossy = std::string(50, 'v') + "X";
  const std::string lossy_name = Name(lossy);
  EXPECT_EQ(lossy_name.size(), 63u);
  EXPECT_EQ(lossy_name, ("orders_" + std::string(47, 'v')) + "_" + ShortHash(KeyValue::Of(lossy)));
}

TEST(PartitionNameTest, ParentIsSubstitutedReduced) {
  EXPECT_EQ(PartitionName("{value}_of_{parent}", "Orders Archive", KeyValue::Of("new")),
            "new_of_orders_archive");
  EXPECT_EQ(PartitionName("{parent}{value}", "orders", KeyValue::Of("x")), "ordersx");
  EXPECT_EQ(PartitionName("p_{value}", "orders", KeyValue::Of("x")), "p_x");
}

TEST(PartitionNameTest, LeadingDigitFromValueGetsPrefixAndHash) {
  const std::string name = PartitionName("{value}", "orders", KeyValue::Of("2024"));
  EXPECT_EQ(name, "p2024_" + ShortHash(KeyValue::Of("2024")));
  // ...so it cannot collide with the value 'p2024'.
  EXPECT_EQ(PartitionName("{value}", "orders", KeyValue::Of("p2024")), "p2024");
}

TEST(PartitionNameTest, LeadingDigitFromParentGetsPrefixOnly) {
  EXPECT_EQ(PartitionName(kDefaultNameTemplate, "2024sales", KeyValue::Of("eu")), "p2024sales_eu");
  EXPECT_EQ(PartitionName("9_{value}", "orders", KeyValue::Of("eu")), "p9_eu");
}

TEST(PartitionNameTest, ValueOnlyTemplateWithEmptyValueIsValid) {
  const std::string name = PartitionName("{value}", "orders", KeyValue::Of(""));
  EXPECT_EQ(name, "_8601b62c");
  EXPECT_TRUE(IsValidIdentifier(name));
}

TEST(PartitionNameTest, RepeatedValuePlaceholder) {
  EXPECT_EQ(PartitionName("{value}_{value}", "orders", KeyValue::Of("a")), "a_a");
}

TEST(PartitionNameTest, HostileValuesAreValidAndPairwiseDistinct) {
  std::vector<KeyValue> values = {KeyValue::Null(), KeyValue::Of(""), KeyValue::Of("null"),
                                  KeyValue::Of("NULL"), KeyValue::Of("Null")};
  // Every single byte, and every byte doubled.
  for (int b = 0; b < 256; ++b) {
    values.push_back(KeyValue::Of(std::string(1, static_cast<char>(b))));
    values.push_back(KeyValue::Of(std::string(2, static_cast<char>(b))));
  }
  // Lengths around and past the limit, with a differing last byte.
  for (size_t n = 1; n <= 200; ++n) {
    values.push_back(KeyValue::Of(std::string(n, 'a')));
    values.push_back(KeyValue::Of(std::string(n - 1, 'a') + "B"));
  }
  for (const char* text : {"it's",
                           "it''s",
                           "a\"b",
                           "a;b",
                           "a\\b",
                           "a b",
                           "a\tb",
                           "a\nb",
                           "1",
                           "01",
                           "p1",
                           "p01",
                           "_",
                           "__",
                           "-",
                           "\xe6\x97\xa5\xe6\x9c\xac",
                           "\xf0\x9f\x98\x80",
                           "caf\xc3\xa9",
                           "'; DROP TABLE orders; --",
                           "$1",
                           "%s",
                           "{value}",
                           "{parent}",
                           "select",
                           "A",
                           "a_05dcb863"}) {
    values.push_back(KeyValue::Of(text));
  }
  // Deterministic random strings over a hostile alphabet.
  const std::string alphabet = "aAzZ09_ -'\";\\\x01\xc3\xa9\xff";
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> length(0, 80);
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const size_t n = length(rng);
    for (size_t j = 0; j < n; ++j) text += alphabet[pick(rng)];
    values.push_back(KeyValue::Of(text));
  }
  // Values that look like other values' hashed names.
  const size_t base_count = values.size();
  for (size_t i = 0; i < base_count; i += 7) {
    const std::string name = Name(values[i]);
    values.push_back(KeyValue::Of(name.substr(std::string("orders_").size())));
  }

  for (const std::string_view name_template :
       {std::string_view("{parent}_{value}"), std::string_view("{value}"),
        std::string_view("{value}_x")}) {
    std::unordered_map<std::string, KeyValue> seen;
    for (const KeyValue& value : values) {
      const std::string name = PartitionName(name_template, "orders", value);
      ASSERT_TRUE(IsValidIdentifier(name))
          << name_template << " " << value.ForLog() << " -> " << name;
      const auto [it, inserted] = seen.emplace(name, value);
      if (!inserted) {
        // The same value may appear twice in the list; different ones must not collide.
        ASSERT_EQ(it->second, value) << name_template << ": " << it->second.ForLog() << " and "
                                     << value.ForLog() << " both -> " << name;
      }
    }
    EXPECT_GT(seen.size(), 3000u);
  }
}

TEST(PartitionNameTest, IsDeterministic) {
  EXPECT_EQ(Name("Mixed Case"), Name("Mixed Case"));
  EXPECT_EQ(Name(KeyValue::Null()), Name(KeyValue::Null()));
}

// ---- ValidateNameTemplate ----

TEST(ValidateNameTemplateTest, AcceptsValidTemplates) {
  EXPECT_EQ(ValidateNameTemplate(kDefaultNameTemplate), std::nullopt);
  EXPECT_EQ(ValidateNameTemplate("{value}"), std::nullopt);
  EXPECT_EQ(ValidateNameTemplate("p_{value}_of_{parent}_2"), std::nullopt);
  EXPECT_EQ(ValidateNameTemplate("{value}{value}"), std::nullopt);
}

// Expects an error whose message contains `needle`.
void ExpectInvalid(std::string_view name_template, const std::string& needle) {
  const std::optional<std::string> error = ValidateNameTemplate(name_template);
  ASSERT_TRUE(error.has_value()) << name_template;
  EXPECT_NE(error->find(needle), std::string::npos) << *error;
}

TEST(ValidateNameTemplateTest, RequiresValue) {
  ExpectInvalid("", "must contain {value}");
  ExpectInvalid("{parent}", "must contain {value}");
  ExpectInvalid("orders_new", "must contain {value}");
}

TEST(ValidateNameTemplateTest, RejectsUnknownPlaceholder) {
  ExpectInvalid("{parent}_{val}", "unknown placeholder {val}");
  ExpectInvalid("{value}_{}", "unknown placeholder {}");
  ExpectInvalid("{VALUE}", "unknown placeholder {VALUE}");
  ExpectInvalid("{value}_{schema}", "unknown placeholder {schema}");
}

TEST(ValidateNameTemplateTest, RejectsUnbalancedBraces) {
  ExpectInvalid("{value", "unbalanced '{' at offset 0");
  ExpectInvalid("{value}_{parent", "unbalanced '{' at offset 8");
  ExpectInvalid("value}", "unbalanced '}' at offset 5");
  ExpectInvalid("{value}}", "unbalanced '}' at offset 7");
  ExpectInvalid("{{value}}", "unbalanced '{' at offset 0");
  ExpectInvalid("{val{ue}", "unbalanced '{' at offset 0");
}

TEST(ValidateNameTemplateTest, RejectsLiteralsOutsideIdentifierCharacters) {
  ExpectInvalid("Orders_{value}", "character 'O' at offset 0");
  ExpectInvalid("{parent}-{value}", "character '-' at offset 8");
  ExpectInvalid("{value} x", "character ' ' at offset 7");
  ExpectInvalid("{value}\"", "character '\"'");
  ExpectInvalid("caf\xc3\xa9_{value}", "character \\xc3 at offset 3");
}

}  // namespace
}  // namespace partwatch::policy

namespace partwatch::policy {
namespace {

TEST(KeyValueForLogTest, ControlBytesCannotForgeLogLines) {
  EXPECT_EQ(KeyValue::Of("a\nb").ForLog(), "'a\\nb'");
  EXPECT_EQ(KeyValue::Of(std::string("e\x01" "f\r")).ForLog(), "'e\\x01f\\x0d'");
  EXPECT_EQ(KeyValue::Of("c\\d").ForLog(), "'c\\\\d'");
  EXPECT_EQ(KeyValue::Null().ForLog(), "NULL");
  EXPECT_EQ(KeyValue::Of("возврат").ForLog(), "'возврат'");
}

TEST(KeyValueForLogTest, LongValuesAreCut) {
  const std::string log = KeyValue::Of(std::string(1000, 'x')).ForLog();
  EXPECT_EQ(log, "'" + std::string(256, 'x') + "'...(1000 bytes)");
}

}  // namespace
}  // namespace partwatch::policy
