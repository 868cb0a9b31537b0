#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "plugin_host/manifest.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using meshbot::plugins::load_manifest;
using meshbot::plugins::ManifestError;
using meshbot::plugins::ManifestLoad;
using meshbot::plugins::parse_manifest;

namespace fs = std::filesystem;

namespace {

const fs::path manifest_file = "plugins/echo/plugin.toml";

// The four required keys, valid, for tests that vary one more.
const std::string minimal =
    "id = \"echo\"\n"
    "name = \"Echo\"\n"
    "version = \"1.0.0\"\n"
    "api_version = \"1.0\"\n";

ManifestLoad parse(const std::string& text) {
    return parse_manifest(text, manifest_file);
}

// The message of the ManifestError that parsing `text` throws ("" when it does not throw).
std::string error_of(const std::string& text) {
    try {
        (void)parse(text);
    } catch (const ManifestError& e) {
        return e.what();
    }
    return {};
}

// `minimal` with the line for `key` replaced by `line` (or `line` appended).
std::string with(const std::string& key, const std::string& line) {
    std::string text = minimal;
    const auto at = text.find(key + " = ");
    if (at == std::string::npos) return text + line + "\n";
    const auto end = text.find('\n', at);
    return text.replace(at, end - at, line);
}

}  // namespace

TEST_CASE("A minimal manifest gets the documented defaults", "[manifest]") {
    const auto result = parse(minimal);
    const auto& m = result.manifest;
    CHECK(result.warnings.empty());
    CHECK(m.id == "echo");
    CHECK(m.name == "Echo");
    CHECK(m.version == "1.0.0");
    CHECK(m.api_major == 1);
    CHECK(m.api_minor == 0);
    CHECK(m.description.empty());
    CHECK(m.library == "echo.so");
    CHECK(m.permissions.empty());
    CHECK_FALSE(m.wants("network"));
    CHECK(m.dir == fs::path("plugins/echo"));
    CHECK(m.library_path() == fs::path("plugins/echo/echo.so"));
}

TEST_CASE("Every key of a full manifest is read", "[manifest]") {
    const auto result = parse(
        "id = \"weather-2_x\"\n"
        "name = \"Weather\"\n"
        "version = \"2.10.3-rc.1+build.7\"\n"
        "api_version = \"1.12\"\n"
        "description = \"Forecasts on request\"\n"
        "library = \"libweather.so.2\"\n"
        "permissions = [\"network\"]\n");
    const auto& m = result.manifest;
    CHECK(result.warnings.empty());
    CHECK(m.id == "weather-2_x");
    CHECK(m.version == "2.10.3-rc.1+build.7");
    CHECK(m.api_major == 1);
    CHECK(m.api_minor == 12);
    CHECK(m.description == "Forecasts on request");
    CHECK(m.library == "libweather.so.2");
    CHECK(m.permissions == std::vector<std::string>{"network"});
    CHECK(m.wants("network"));
    CHECK_FALSE(m.wants("filesystem"));
}

TEST_CASE("load_manifest reads the file and names it when it cannot", "[manifest]") {
    const fs::path dir =
        fs::temp_directory_path() / ("meshbot_manifest_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "plugin.toml";
    std::ofstream(file) << minimal << "permissions = [\"network\"]\n";

    const auto result = load_manifest(file);
    CHECK(result.manifest.id == "echo");
    CHECK(result.manifest.dir == dir);
    CHECK(result.manifest.library_path() == dir / "echo.so");
    CHECK(result.manifest.wants("network"));

    const fs::path missing = dir / "nope" / "plugin.toml";
    CHECK_THROWS_WITH(load_manifest(missing),
                      "cannot read manifest '" + missing.string() + "': No such file or directory");
    CHECK_THROWS_WITH(load_manifest(dir),
                      "cannot read manifest '" + dir.string() + "': Is a directory");

    std::ofstream(file) << "id = \"echo\"\nname = \n";
    CHECK_THROWS_WITH(load_manifest(file),
                      StartsWith(file.string() + ":2:") && Contains("TOML syntax error"));
    fs::remove_all(dir);
}

TEST_CASE("A TOML syntax error gives file:line:column", "[manifest]") {
    const auto message = error_of(minimal + "permissions = [\"network\"\n");
    CHECK_THAT(message, StartsWith("plugins/echo/plugin.toml:5:"));
    CHECK_THAT(message, Contains("TOML syntax error"));
}

TEST_CASE("Missing required keys are all reported, without a position", "[manifest]") {
    CHECK(error_of("description = \"nothing else\"\n") ==
          "plugins/echo/plugin.toml: id: missing (a required key)\n"
          "plugins/echo/plugin.toml: name: missing (a required key)\n"
          "plugins/echo/plugin.toml: version: missing (a required key)\n"
          "plugins/echo/plugin.toml: api_version: missing (a required key)");
}

TEST_CASE("The id is [a-z0-9_-], 1 to 32 characters", "[manifest]") {
    CHECK(error_of(with("id", "id = \"Echo\"")) ==
          "plugins/echo/plugin.toml:1:6: id: may contain only a-z, 0-9, '_' and '-', not 'E'");
    CHECK_THAT(error_of(with("id", "id = \"echo bot\"")), Contains("not ' '"));
    CHECK_THAT(error_of(with("id", "id = \"../x\"")), Contains("not '.'"));
    CHECK_THAT(error_of(with("id", "id = \"\"")), Contains("id: must not be empty"));
    CHECK(parse(with("id", "id = \"" + std::string(32, 'a') + "\"")).manifest.id.size() == 32);
    CHECK_THAT(error_of(with("id", "id = \"" + std::string(33, 'a') + "\"")),
               Contains("id: is 33 characters long, at most 32 are allowed"));
    CHECK(error_of(with("id", "id = 7")) ==
          "plugins/echo/plugin.toml:1:6: id: expected a string, got integer 7");
}

TEST_CASE("The name must not be blank", "[manifest]") {
    CHECK(error_of(with("name", "name = \"  \"")) ==
          "plugins/echo/plugin.toml:2:8: name: must not be empty");
    CHECK_THAT(error_of(with("name", "name = [\"Echo\"]")),
               Contains("name: expected a string, got an array"));
}

TEST_CASE("The version is a semantic version", "[manifest]") {
    for (const char* good :
         {"0.0.0", "1.0.0", "10.20.30", "1.0.0-alpha", "1.0.0-rc.1", "1.0.0-0.3.7", "1.0.0-x-y.z",
          "1.0.0+build.5", "1.0.0-rc.1+sha.ab12"}) {
        INFO(good);
        CHECK(parse(with("version", std::string("version = \"") + good + "\"")).manifest.version ==
              good);
    }
    for (const char* bad :
         {"1.0", "1", "v1.0.0", "1.0.0.0", "01.0.0", "1.00.0", "1.0.0-", "1.0.0-01", "1.0.0-a..b",
          "1.0.0+", "1.0.0+a_b", "1.-1.0", "", " 1.0.0"}) {
        INFO(bad);
        CHECK_THAT(error_of(with("version", std::string("version = \"") + bad + "\"")),
                   StartsWith("plugins/echo/plugin.toml:3:11: version: \"" + std::string(bad) +
                              "\" is not a semantic version MAJOR.MINOR.PATCH"));
    }
    CHECK_THAT(error_of(with("version", "version = 1.0")),
               Contains("version: expected a string, got float 1.0"));
}

TEST_CASE("The api_version is MAJOR.MINOR", "[manifest]") {
    const auto m = parse(with("api_version", "api_version = \"3.27\"")).manifest;
    CHECK(m.api_major == 3);
    CHECK(m.api_minor == 27);
    CHECK(parse(with("api_version", "api_version = \"0.0\"")).manifest.api_major == 0);
    for (const char* bad :
         {"1", "1.0.0", "a.b", "01.0", "1.", ".1", "1.0-rc", "9999999999.0", ""}) {
        INFO(bad);
        CHECK(error_of(with("api_version", std::string("api_version = \"") + bad + "\"")) ==
              "plugins/echo/plugin.toml:4:15: api_version: \"" + std::string(bad) +
                  "\" is not MAJOR.MINOR (e.g. \"1.0\")");
    }
    // Written without quotes, 1.0 is a TOML float: say how to write it.
    CHECK(error_of(with("api_version", "api_version = 1.0")) ==
          "plugins/echo/plugin.toml:4:15: api_version: expected a string like \"1.0\", got float "
          "1.0");
}

TEST_CASE("The library is a file name in the plugin's folder", "[manifest]") {
    CHECK(parse(with("library", "library = \"echo-plugin.so\"")).manifest.library ==
          "echo-plugin.so");
    for (const char* bad : {"../evil.so", "/usr/lib/evil.so", "sub/echo.so", "..", ".", ""}) {
        INFO(bad);
        CHECK_THAT(error_of(with("library", std::string("library = \"") + bad + "\"")),
                   StartsWith("plugins/echo/plugin.toml:5:11: library: must be a file name in "
                              "the plugin's folder"));
    }
    CHECK_THAT(error_of(with("library", "library = true")),
               Contains("library: expected a string, got boolean true"));
}

TEST_CASE("Permissions: known values only, as an array of strings", "[manifest]") {
    CHECK(parse(with("permissions", "permissions = []")).manifest.permissions.empty());
    CHECK(error_of(with("permissions", "permissions = [\"network\", \"netwrk\"]")) ==
          "plugins/echo/plugin.toml:5:27: permissions: unknown permission \"netwrk\" (known: "
          "network, exec)");
    CHECK(parse(with("permissions", "permissions = [\"exec\"]")).manifest.wants("exec"));
    CHECK(error_of(with("permissions", "permissions = \"network\"")) ==
          "plugins/echo/plugin.toml:5:15: permissions: expected an array of strings like "
          "[\"network\"], got string \"network\"");
    CHECK_THAT(error_of(with("permissions", "permissions = [1]")),
               Contains("permissions: expected a string, got integer 1"));

    const auto twice = parse(with("permissions", "permissions = [\"network\", \"network\"]"));
    CHECK(twice.manifest.permissions == std::vector<std::string>{"network"});
    CHECK(twice.warnings ==
          std::vector<std::string>{
              "plugins/echo/plugin.toml:5:27: permissions: \"network\" is listed twice"});
}

TEST_CASE("Unknown keys are ignored with a warning that suggests a known one", "[manifest]") {
    const auto result = parse(minimal +
                              "permisions = [\"network\"]\n"
                              "licence = \"MIT\"\n"
                              "[settings]\n"
                              "channel = 1\n");
    CHECK(result.manifest.permissions.empty());
    CHECK(result.manifest.license.empty());
    CHECK(result.warnings ==
          std::vector<std::string>{
              "plugins/echo/plugin.toml:5:1: unknown key 'permisions' (ignored, did you mean "
              "'permissions'?)",
              "plugins/echo/plugin.toml:6:1: unknown key 'licence' (ignored, did you mean "
              "'license'?)",
              "plugins/echo/plugin.toml:7:2: unknown table 'settings' (ignored)"});
}

TEST_CASE("Several problems are reported at once, in file order", "[manifest]") {
    CHECK(error_of("name = \"\"\n"
                   "id = \"Bad\"\n"
                   "api_version = \"1\"\n"
                   "version = \"1.0.0\"\n") ==
          "plugins/echo/plugin.toml:1:8: name: must not be empty\n"
          "plugins/echo/plugin.toml:2:6: id: may contain only a-z, 0-9, '_' and '-', not 'B'\n"
          "plugins/echo/plugin.toml:3:15: api_version: \"1\" is not MAJOR.MINOR (e.g. \"1.0\")");
}
