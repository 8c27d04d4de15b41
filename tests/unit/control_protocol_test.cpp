// The control socket's line protocol parser and value parsing (src/common/control_protocol.cpp)
// and the socket path rules (control_socket_path.cpp).
#include <gtest/gtest.h>

#include "common/control_protocol.h"
#include "common/control_socket_path.h"

using namespace hotpatch::control;

namespace {

Command parse_ok(std::string_view line) {
  ParseResult r = parse_command(line);
  EXPECT_TRUE(r.command.has_value()) << line << ": " << r.error;
  return r.command.value_or(Command{});
}

std::string parse_error(std::string_view line) {
  ParseResult r = parse_command(line);
  EXPECT_FALSE(r.command.has_value()) << line;
  EXPECT_FALSE(r.error.empty()) << line;
  return r.error;
}

}  // namespace

TEST(ControlProtocol, SeedGrammar) {
  EXPECT_EQ(parse_ok("gflags list").verb, Verb::GflagsList);
  Command c = parse_ok("gflags set minloglevel 2");
  EXPECT_EQ(c.verb, Verb::GflagsSet);
  EXPECT_EQ(c.args, (std::vector<std::string>{"minloglevel", "2"}));
  c = parse_ok("var get string user_name");
  EXPECT_EQ(c.verb, Verb::VarGet);
  EXPECT_EQ(c.type, ValueKind::String);
  EXPECT_EQ(c.args, (std::vector<std::string>{"user_name"}));
  c = parse_ok("var set int age 20");
  EXPECT_EQ(c.type, ValueKind::Int32);
  EXPECT_EQ(c.args, (std::vector<std::string>{"age", "20"}));
  c = parse_ok("var set age 20");
  EXPECT_FALSE(c.type.has_value());
  c = parse_ok("lib load add_func_patch1 ./examples/libadd_func_patch1.so");
  EXPECT_EQ(c.verb, Verb::LibLoad);
  c = parse_ok("func upgrade add_func_patch1 add_func");
  EXPECT_EQ(c.verb, Verb::FuncUpgrade);
  EXPECT_EQ(c.args.size(), 2u);
  EXPECT_EQ(parse_ok("func upgrade lib f g").args.size(), 3u);
  EXPECT_EQ(parse_ok("func rollback add_func").verb, Verb::FuncRollback);
  EXPECT_EQ(parse_ok("glog set vmodule foo=3").verb, Verb::GlogSet);
  EXPECT_EQ(parse_ok("help\r").verb, Verb::Help);
  EXPECT_EQ(parse_ok("  version  ").verb, Verb::Version);
}

TEST(ControlProtocol, QuotedStrings) {
  Command c = parse_ok(R"(var set string user_name "new name with \"quotes\" and \\")");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[1], R"(new name with "quotes" and \)");
  EXPECT_EQ(parse_ok(R"(var set user_name "")").args[1], "");
  EXPECT_NE(parse_error(R"(var set user_name "open)").find("unterminated quote"), std::string::npos);
}

TEST(ControlProtocol, BadInputIsAnErrorNotACrash) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("   ").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("frobnicate").find("unknown command"), std::string::npos);
  EXPECT_NE(parse_error("var").find("expected var list|get|set"), std::string::npos);
  EXPECT_NE(parse_error("var frob x").find("unknown var command 'frob'"), std::string::npos);
  EXPECT_NE(parse_error("var get").find("usage: var get [TYPE] NAME"), std::string::npos);
  EXPECT_NE(parse_error("var set a b c d").find("wrong number"), std::string::npos);
  EXPECT_NE(parse_error("var set complex age 1").find("unknown type 'complex'"), std::string::npos);
  EXPECT_NE(parse_error("gflags get").find("usage"), std::string::npos);
  EXPECT_NE(parse_error("help me").find("usage: help"), std::string::npos);
  EXPECT_NE(parse_error(std::string("var get \0x", 10)).find("binary input"), std::string::npos);
  EXPECT_NE(parse_error("\x01\x02\xff\xfe").find("binary input"), std::string::npos);
  EXPECT_NE(parse_error(std::string(kMaxLineLength + 1, 'a')).find("longer than"), std::string::npos);
}

TEST(ControlProtocol, QuoteWordRoundTrips) {
  for (std::string w : {"plain", "", "two words", "q\"uote", "back\\slash", "tab\there"}) {
    std::string error;
    auto words = split_words("x " + quote_word(w), error);
    ASSERT_TRUE(words) << error;
    ASSERT_EQ(words->size(), 2u);
    EXPECT_EQ((*words)[1], w);
  }
}

TEST(ControlProtocol, TypeNames) {
  EXPECT_EQ(parse_type_name("int"), ValueKind::Int32);
  EXPECT_EQ(parse_type_name("int64_t"), ValueKind::Int64);
  EXPECT_EQ(parse_type_name("std::atomic<uint64_t>"), ValueKind::UInt64);
  EXPECT_EQ(parse_type_name("string"), ValueKind::String);
  EXPECT_EQ(parse_type_name("std::string"), ValueKind::String);
  EXPECT_FALSE(parse_type_name("std::atomic<>"));
  EXPECT_FALSE(parse_type_name("char"));
}

TEST(ControlProtocol, IntegersAreStrictAndRangeChecked) {
  EXPECT_EQ(parse_value(ValueKind::Int32, "2147483647").i, 2147483647);
  EXPECT_EQ(parse_value(ValueKind::Int32, "-2147483648").i, INT32_MIN);
  EXPECT_FALSE(parse_value(ValueKind::Int32, "2147483648").ok);
  EXPECT_NE(parse_value(ValueKind::Int32, "99999999999").error.find("out of range"), std::string::npos);
  EXPECT_EQ(parse_value(ValueKind::Int64, "-9223372036854775808").i, INT64_MIN);
  EXPECT_FALSE(parse_value(ValueKind::Int64, "9223372036854775808").ok);
  EXPECT_EQ(parse_value(ValueKind::UInt64, "18446744073709551615").u, UINT64_MAX);
  EXPECT_FALSE(parse_value(ValueKind::UInt64, "18446744073709551616").ok);
  EXPECT_FALSE(parse_value(ValueKind::UInt64, "340282366920938463463374607431768211456").ok);
  EXPECT_NE(parse_value(ValueKind::UInt32, "-1").error.find("negative"), std::string::npos);
  EXPECT_EQ(parse_value(ValueKind::UInt32, "0xff").u, 255u);
  for (const char* bad : {"", "-", "+", "12x", "1.5", " 1", "1 ", "0x", "--1", "+-1", "0x-1"})
    EXPECT_FALSE(parse_value(ValueKind::Int32, bad).ok) << bad;
}

TEST(ControlProtocol, BoolsFloatsStrings) {
  EXPECT_EQ(parse_value(ValueKind::Bool, "true").i, 1);
  EXPECT_EQ(parse_value(ValueKind::Bool, "0").i, 0);
  EXPECT_FALSE(parse_value(ValueKind::Bool, "yes").ok);
  EXPECT_DOUBLE_EQ(parse_value(ValueKind::Double, "2.5e3").d, 2500.0);
  EXPECT_FALSE(parse_value(ValueKind::Double, "nan").ok);
  EXPECT_FALSE(parse_value(ValueKind::Double, "inf").ok);
  EXPECT_FALSE(parse_value(ValueKind::Double, "1e400").ok);
  EXPECT_FALSE(parse_value(ValueKind::Float, "1e39").ok);
  EXPECT_FALSE(parse_value(ValueKind::Double, "1.5abc").ok);
  EXPECT_EQ(parse_value(ValueKind::String, "a b").s, "a b");
}

TEST(ControlSocketPath, Rules) {
  EXPECT_EQ(socket_path(42, 1000, "/run/user/1000"), "/run/user/1000/hotpatch/42.sock");
  EXPECT_EQ(socket_path(42, 0, nullptr), "/run/hotpatch/42.sock");
  EXPECT_EQ(socket_path(42, 0, ""), "/run/hotpatch/42.sock");
  EXPECT_EQ(socket_path(42, 1000, nullptr), "/tmp/hotpatch-1000/42.sock");
  EXPECT_EQ(socket_path(42, 1000, "relative"), "/tmp/hotpatch-1000/42.sock");
  auto c = candidate_socket_paths(42, 0, "/x");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1], "/run/hotpatch/42.sock");
}
