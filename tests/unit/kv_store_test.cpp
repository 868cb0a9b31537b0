// A plugin's key-value store: persistence across restarts, bounds, and a damaged file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "plugin_host/kv_store.hpp"

using meshbot::plugins::KvStore;
namespace fs = std::filesystem;

namespace {

// A scratch folder removed at the end of the test.
struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("meshbot-kv-" + std::to_string(std::random_device{}()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("values set in one run are there in the next", "[kv]") {
    Scratch s;
    const auto file = s.dir / "plugins" / "echo.kv";
    std::string problem;
    {
        KvStore store(file, problem);
        CHECK(store.set("greeting", "hello") == KvStore::Result::ok);
        CHECK(store.set("binary", std::string("\0\x01\xff", 3)) == KvStore::Result::ok);
        CHECK(store.set("gone", "soon") == KvStore::Result::ok);
        CHECK(store.erase("gone") == KvStore::Result::ok);
    }
    KvStore again(file, problem);
    CHECK(problem.empty());
    CHECK(again.size() == 2);
    CHECK(again.get("greeting") == std::optional<std::string_view>("hello"));
    CHECK(again.get("binary") == std::optional<std::string_view>(std::string_view("\0\x01\xff", 3)));
    CHECK_FALSE(again.get("gone"));
}

TEST_CASE("a store refuses to grow past its limit and keeps what it had", "[kv]") {
    Scratch s;
    std::string problem;
    KvStore store(s.dir / "small.kv", problem, 32);
    CHECK(store.set("a", std::string(20, 'x')) == KvStore::Result::ok);
    CHECK(store.set("b", std::string(20, 'y')) == KvStore::Result::full);
    CHECK(store.set("a", std::string(30, 'z')) == KvStore::Result::ok);  // replacing frees the old
    CHECK(store.get("a")->size() == 30);
    CHECK_FALSE(store.get("b"));
}

TEST_CASE("a damaged store file is moved aside with a message and the store starts empty", "[kv]") {
    Scratch s;
    const auto file = s.dir / "broken.kv";
    std::ofstream(file, std::ios::binary) << "MBKV1\n\x05\x00\x00\x00ab";  // a key cut short
    std::string problem;
    KvStore store(file, problem);
    CHECK(store.size() == 0);
    CHECK_THAT(problem, Catch::Contains(file.string()));
    CHECK(fs::exists(file.string() + ".corrupt"));
    CHECK(store.set("fresh", "start") == KvStore::Result::ok);
    KvStore reloaded(file, problem);
    CHECK(reloaded.get("fresh") == std::optional<std::string_view>("start"));
}
