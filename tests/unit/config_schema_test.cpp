// The manifest's descriptive keys (license, authors, homepage, source, min_meshbot), its [config]
// schema, and the check of an operator's [plugins.<id>] table against that schema.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "plugin_host/config_schema.hpp"
#include "plugin_host/manifest.hpp"
#include "plugin_host/plugin_config.hpp"

using Catch::Matchers::Contains;
using meshbot::plugins::check_min_meshbot;
using meshbot::plugins::ConfigKeySpec;
using meshbot::plugins::ConfigType;
using meshbot::plugins::Manifest;
using meshbot::plugins::ManifestError;
using meshbot::plugins::parse_manifest;
using meshbot::plugins::PluginConfig;
using meshbot::plugins::validate_plugin_table;
using meshbot::plugins::ValueKind;

namespace {

const std::string header =
    "id = \"echo\"\n"
    "name = \"Echo\"\n"
    "version = \"1.0.0\"\n"
    "api_version = \"1.0\"\n";  // 4 lines: what a test adds starts on line 5

// Echo's schema as plugins/echo/plugin.toml declares it.
const std::string echo_schema =
    "[config.channel]\n"  // line 5
    "type = \"integer\"\n"
    "default = 0\n"
    "min = 0\n"
    "max = 7\n"
    "help = \"Channel index the echo is broadcast on\"\n"
    "[config.mode]\n"  // line 11
    "type = \"string\"\n"
    "default = \"broadcast\"\n"
    "one_of = [\"broadcast\", \"reply\"]\n"
    "help = \"broadcast or reply\"\n"
    "[config.admins]\n"  // line 16
    "type = \"array<string>\"\n"
    "default = [\"!10000001\"]\n"
    "help = \"Node ids\"\n"
    "[config.window]\n"  // line 20
    "type = \"duration\"\n"
    "default = 2.5\n"
    "max = 60\n"
    "help = \"Seconds\"\n";

Manifest manifest(const std::string& body) {
    return parse_manifest(header + body, "plugins/echo/plugin.toml").manifest;
}

std::string error_of(const std::string& body) {
    try {
        (void)manifest(body);
    } catch (const ManifestError& e) {
        return e.what();
    }
    return {};
}

// The [plugins.echo] table of a config whose lines after "[plugins.echo]" are `lines`
// ([plugins.echo] is line 1, so the first of `lines` is line 2).
meshbot::config::PluginSettings echo_table(const std::string& lines) {
    auto loaded = meshbot::config::parse_config("[plugins.echo]\n" + lines, "meshbot.toml");
    return loaded.config.plugins.settings.at("echo");
}

}  // namespace

TEST_CASE("A manifest's descriptive keys are read", "[manifest][schema]") {
    const auto m = manifest(
        "license = \"(Apache-2.0 OR MIT) AND GPL-2.0-or-later WITH Classpath-exception-2.0\"\n"
        "authors = [\"Ada Lovelace <ada@example.org>\", \"The team\"]\n"
        "homepage = \"https://example.org/echo\"\n"
        "source = \"git@github.com:meshbot/echo.git\"\n"
        "min_meshbot = \"0.2.0\"\n");
    CHECK(m.license == "(Apache-2.0 OR MIT) AND GPL-2.0-or-later WITH Classpath-exception-2.0");
    CHECK(m.authors == std::vector<std::string>{"Ada Lovelace <ada@example.org>", "The team"});
    CHECK(m.homepage == "https://example.org/echo");
    CHECK(m.source == "git@github.com:meshbot/echo.git");
    CHECK(m.min_meshbot == "0.2.0");
    CHECK(m.config_schema.empty());

    for (const char* source : {"https://github.com/meshbot/echo", "git://example.org/echo.git",
                               "ssh://git@example.org:2222/echo.git", "http://example.org/x"}) {
        INFO(source);
        CHECK(manifest("source = \"" + std::string(source) + "\"\n").source == source);
    }
    for (const char* license : {"MIT", "GPL-3.0+", "LicenseRef-mine", "MIT OR (BSD-2-Clause)"}) {
        INFO(license);
        CHECK(manifest("license = \"" + std::string(license) + "\"\n").license == license);
    }
}

TEST_CASE("Bad descriptive keys are errors with file:line:column", "[manifest][schema]") {
    const std::string file = "plugins/echo/plugin.toml:5:";
    CHECK(error_of("license = \"MIT and Apache-2.0\"\n") ==
          file +
              "11: license: \"MIT and Apache-2.0\" is not an SPDX expression like \"MIT\" or "
              "\"Apache-2.0 OR MIT\" (operators are written AND, OR and WITH, not 'and')");
    CHECK_THAT(error_of("license = \"MIT OR\"\n"), Contains("expected a license id, got end"));
    CHECK_THAT(error_of("license = \"(MIT\"\n"), Contains("expected ')' at end"));
    CHECK_THAT(error_of("license = \"MIT GPL-2.0\"\n"), Contains("unexpected 'GPL-2.0'"));
    CHECK_THAT(error_of("license = \"MIT WITH\"\n"), Contains("expected an exception id"));
    CHECK_THAT(error_of("license = \"MIT/X11\"\n"), Contains("unexpected character '/'"));
    CHECK_THAT(error_of("license = \"\"\n"), Contains("(is empty)"));
    CHECK(error_of("authors = \"Ada\"\n") ==
          file +
              "11: authors: expected an array of strings like [\"Name <mail>\"], got string "
              "\"Ada\"");
    CHECK(error_of("authors = [\"Ada\", \"Bob <bob>\"]\n") ==
          file +
              "19: authors: expected \"Name\" or \"Name <mail@host>\", got string \"Bob <bob>\"");
    CHECK_THAT(error_of("authors = [\" \"]\n"), Contains("an author must not be empty"));
    CHECK(error_of("homepage = \"git@github.com:x/y\"\n") ==
          file +
              "12: homepage: expected an http(s) URL like \"https://example.org/plugin\", got "
              "string \"git@github.com:x/y\"");
    CHECK_THAT(error_of("homepage = \"https:// example.org\"\n"), Contains("homepage: expected"));
    CHECK_THAT(error_of("source = \"ftp://example.org/x\"\n"), Contains("source: expected a URL"));
    CHECK_THAT(error_of("source = \"github.com/x/y\"\n"), Contains("source: expected a URL"));
    CHECK(error_of("min_meshbot = \"1.2\"\n") ==
          file + "15: min_meshbot: \"1.2\" is not a version MAJOR.MINOR.PATCH (e.g. \"0.1.0\")");
    CHECK_THAT(error_of("min_meshbot = 1.2\n"),
               Contains("min_meshbot: expected a string like \"1.2.0\", got float 1.2"));
}

TEST_CASE("min_meshbot refuses an older host only", "[manifest][schema]") {
    Manifest m;
    CHECK(check_min_meshbot(m, "0.1.0").empty());  // none given
    m.min_meshbot = "0.2.0";
    CHECK(check_min_meshbot(m, "0.2.0").empty());
    CHECK(check_min_meshbot(m, "0.10.0").empty());  // numbers, not text
    CHECK(check_min_meshbot(m, "1.0.0-rc.1").empty());
    CHECK(check_min_meshbot(m, "0.1.9") == "needs meshbot >= 0.2.0, this is 0.1.9");
    CHECK(check_min_meshbot(m, "0.2.0-rc.1+7").empty());  // the release it leads to counts
}

TEST_CASE("A [config] schema is read in file order with its rules", "[manifest][schema]") {
    const auto m = manifest(echo_schema);
    REQUIRE(m.config_schema.size() == 4);
    const ConfigKeySpec& channel = m.config_schema[0];
    CHECK(channel.key == "channel");
    CHECK(channel.type == ConfigType{ValueKind::integer, false});
    CHECK(channel.type.text() == "integer");
    CHECK(channel.help == "Channel index the echo is broadcast on");
    CHECK(channel.default_value()->value<std::int64_t>() == 0);
    CHECK(channel.min()->value<std::int64_t>() == 0);
    CHECK(channel.max()->value<std::int64_t>() == 7);
    CHECK(channel.one_of() == nullptr);
    CHECK(channel.where == "plugins/echo/plugin.toml:5:1");
    CHECK(channel.default_where == "plugins/echo/plugin.toml:7:11");
    const ConfigKeySpec& mode = m.config_schema[1];
    CHECK(mode.key == "mode");
    REQUIRE(mode.one_of() != nullptr);
    CHECK(mode.one_of()->size() == 2);
    CHECK(m.config_schema[2].type.text() == "array<string>");
    CHECK(m.config_schema[3].type == ConfigType{ValueKind::duration, false});
    CHECK(meshbot::plugins::toml_text(*mode.default_value()) == "\"broadcast\"");
    CHECK(meshbot::plugins::toml_text(*m.config_schema[2].default_value()) == "[ \"!10000001\" ]");

    // Every type spelling, inline tables too.
    const auto all = manifest(
        "[config]\n"
        "a = { type = \"bool\", default = true, help = \"a\" }\n"
        "b = { type = \"float\", min = -1, max = 1.5, default = 0.5, help = \"b\" }\n"
        "c = { type = \"table\", help = \"c\" }\n"
        "d = { type = \"array<integer>\", one_of = [1, 2], default = [2, 1], help = \"d\" }\n");
    REQUIRE(all.config_schema.size() == 4);
    CHECK(all.config_schema[0].type.text() == "bool");
    CHECK(all.config_schema[1].type.text() == "float");
    CHECK(all.config_schema[2].type.text() == "table");
    CHECK(all.config_schema[3].type.text() == "array<integer>");
}

TEST_CASE("A bad schema is a manifest error at the value at fault", "[manifest][schema]") {
    const std::string at = "plugins/echo/plugin.toml:";
    const auto key = [](const std::string& name, const std::string& lines) {
        return "[config." + name + "]\n" + lines;  // [config.<name>] on line 5, `lines` from 6
    };
    CHECK(error_of(key("x", "type = \"int\"\nhelp = \"x\"\n")) ==
          at + "6:8: config.x.type: unknown type string \"int\" (known: bool, integer, float, "
               "string, duration, table, and array<T> of the first five)");
    CHECK(error_of(key("x", "type = \"intger\"\nhelp = \"x\"\n")) ==
          at + "6:8: config.x.type: unknown type string \"intger\" (did you mean \"integer\"?)");
    CHECK_THAT(error_of(key("x", "type = \"array<table>\"\nhelp = \"x\"\n")),
               Contains("unknown type string \"array<table>\""));
    CHECK(error_of(key("x", "type = \"integer\"\ndefault = \"0\"\nhelp = \"x\"\n")) ==
          at + "7:11: config.x.default: expected an integer, got string \"0\"");
    CHECK(error_of(key("x", "type = \"integer\"\ndefault = 9\nmax = 7\nhelp = \"x\"\n")) ==
          at + "7:11: config.x.default: expected an integer of at most 7, got integer 9");
    CHECK(error_of(key("x", "type = \"integer\"\nmin = 8\nmax = 7\nhelp = \"x\"\n")) ==
          at + "7:7: config.x.min: is above max (8 > 7)");
    CHECK(error_of(key("x", "type = \"bool\"\none_of = [true]\nhelp = \"x\"\n")) ==
          at + "7:10: config.x.one_of: only string and integer keys have choices, this is bool");
    CHECK(error_of(key("x", "type = \"string\"\nmin = 1\nhelp = \"x\"\n")) ==
          at + "7:7: config.x.min: only integer, float and duration keys have a range, this is "
               "string");
    CHECK(error_of(key("x", "type = \"string\"\none_of = [\"a\", \"a\"]\nhelp = \"x\"\n")) ==
          at + "7:16: config.x.one_of[1]: \"a\" is listed twice");
    CHECK(error_of(key("x",
                       "type = \"string\"\none_of = [\"a\"]\ndefault = \"zz\"\nhelp = "
                       "\"x\"\n")) ==
          at + "8:11: config.x.default: expected one of \"a\", got string \"zz\"");
    CHECK(error_of(key("x", "type = \"duration\"\ndefault = -1\nhelp = \"x\"\n")) ==
          at + "7:11: config.x.default: expected a number of seconds from 0 to 31536000, got "
               "integer -1");
    CHECK(error_of(key("x", "type = \"array<string>\"\ndefault = [\"a\", 1]\nhelp = \"x\"\n")) ==
          at + "7:11: config.x.default[1]: expected a string, got integer 1");
    CHECK(error_of(key("x", "type = \"table\"\ndefault = {}\nhelp = \"x\"\n")) ==
          at + "7:11: config.x.default: a table key has no default (the plugin reads it itself)");
    CHECK(error_of(key("x", "type = \"string\"\n")) ==
          at + "5:1: config.x.help: missing (one line that says what it does)");
    CHECK(error_of(key("x", "type = \"string\"\nhelp = \"two\\nlines\"\n")) ==
          at + "7:8: config.x.help: must be one line");
    CHECK(error_of(key("x", "help = \"x\"\n")) ==
          at + "5:1: config.x.type: missing (bool, integer, float, string, duration, table or "
               "array<...>)");
    CHECK(error_of(key("x", "type = \"string\"\ndefualt = \"a\"\nhelp = \"x\"\n")) ==
          at + "7:1: config.x.defualt: unknown field (did you mean 'default'?)");
    for (const char* reserved :
         {"enabled", "isolation", "grant_network", "grant_exec", "allow_local_ports"}) {
        INFO(reserved);
        CHECK_THAT(error_of(key(reserved, "type = \"bool\"\nhelp = \"x\"\n")),
                   Contains(at + "5:1: config." + reserved + ": '" + reserved +
                            "' is a key of the host in [plugins.<id>], a plugin cannot declare "
                            "it"));
    }
    CHECK(error_of("config = 3\n") ==
          at + "5:10: config: expected a table of keys ([config.<key>] with type and help), got "
               "integer 3");
    CHECK(error_of("[config]\nx = 3\n") ==
          at + "6:5: config.x: expected a table like [config.x] with type and help, got integer 3");

    // Every problem at once, in file order.
    CHECK(error_of("[config.a]\ntype = \"nope\"\nhelp = \"a\"\n"
                   "[config.b]\ntype = \"integer\"\nmin = 1.5\nhelp = \"b\"\n") ==
          at +
              "6:8: config.a.type: unknown type string \"nope\" (known: bool, integer, float, "
              "string, duration, table, and array<T> of the first five)\n" +
              at + "10:7: config.b.min: expected an integer, got float 1.5");
}

TEST_CASE("A plugin table is checked against its schema, naming each value's place", "[schema]") {
    const auto schema = manifest(echo_schema).config_schema;
    const auto check = [&](const std::string& lines) {
        const auto table = echo_table(lines);
        return validate_plugin_table("echo", schema, &table);
    };

    const auto good = check(
        "channel = 7\nmode = \"reply\"\nadmins = []\nwindow = 60\n"
        "enabled = true\ngrant_network = false\n");
    CHECK(good.errors.empty());
    CHECK(good.warnings.empty());

    const auto bad = check(
        "mode = \"replyy\"\nchannel = -1\nadmins = [\"!1\", 2]\n"
        "window = 61\nchanel = 3\n[plugins.echo.extra]\n");
    CHECK(bad.errors ==
          std::vector<std::string>{
              "meshbot.toml:2:8: plugins.echo.mode: expected one of \"broadcast\", \"reply\", got "
              "string \"replyy\" (did you mean \"reply\"?)",
              "meshbot.toml:3:11: plugins.echo.channel: expected an integer from 0 to 7, got "
              "integer -1",
              "meshbot.toml:4:17: plugins.echo.admins[1]: expected a string, got integer 2",
              "meshbot.toml:5:10: plugins.echo.window: expected a number of seconds from 0 to 60, "
              "got integer 61"});
    CHECK(bad.warnings ==
          std::vector<std::string>{
              "meshbot.toml:6:10: unknown key 'plugins.echo.chanel' (did you mean 'channel'?)",
              "meshbot.toml:7:1: unknown table 'plugins.echo.extra'"});

    CHECK(check("mode = 1\n").errors ==
          std::vector<std::string>{"meshbot.toml:2:8: plugins.echo.mode: expected a string, got "
                                   "integer 1"});
    CHECK(check("window = nan\n").errors ==
          std::vector<std::string>{"meshbot.toml:2:10: plugins.echo.window: expected a finite "
                                   "number of seconds from 0 to 60, got float nan"});
    CHECK(check("admins = \"!1\"\n").errors ==
          std::vector<std::string>{"meshbot.toml:2:10: plugins.echo.admins: expected an array "
                                   "(array<string>), got string \"!1\""});
}

TEST_CASE("Without a schema or a table nothing is checked", "[schema]") {
    const auto table = echo_table("anything = 1\nchanel = \"x\"\n");
    const auto none = validate_plugin_table("echo", {}, &table);
    CHECK(none.errors.empty());
    CHECK(none.warnings.empty());
    const auto no_table =
        validate_plugin_table("echo", manifest(echo_schema).config_schema, nullptr);
    CHECK(no_table.errors.empty());
    CHECK(no_table.warnings.empty());
}

TEST_CASE("A key the table leaves out reads as the schema's default", "[schema]") {
    const auto schema = manifest(echo_schema).config_schema;
    const auto table = echo_table("channel = 3\n");
    PluginConfig config(table.table_toml, table.positions);
    config.add_defaults(schema);

    const mb_value channel = config.get("channel");
    CHECK(channel.type == MB_VALUE_INT);
    CHECK(channel.integer == 3);  // the operator's value wins
    CHECK(std::string(channel.where.data, channel.where.size) == "meshbot.toml:2:11");

    const mb_value mode = config.get("mode");
    REQUIRE(mode.type == MB_VALUE_STRING);
    CHECK(std::string(mode.string.data, mode.string.size) == "broadcast");
    CHECK(std::string(mode.where.data, mode.where.size) == "plugins/echo/plugin.toml:13:11");
    CHECK(config.get("admins").type == MB_VALUE_ARRAY);
    const mb_value admin = config.get("admins[0]");
    REQUIRE(admin.type == MB_VALUE_STRING);
    CHECK(std::string(admin.string.data, admin.string.size) == "!10000001");
    CHECK(config.get("window").number == 2.5);

    PluginConfig empty;  // no [plugins.echo] at all
    empty.add_defaults(schema);
    CHECK(empty.get("channel").type == MB_VALUE_INT);
    CHECK(empty.get("channel").integer == 0);
    CHECK(empty.get("nothing").type == MB_VALUE_NONE);
}
