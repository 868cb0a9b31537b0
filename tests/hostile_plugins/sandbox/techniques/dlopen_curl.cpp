// attack_dlopen_curl: libcurl, opened with dlopen() at run time, so it is not even a dependency
// of the plugin. curl connects on the plugin's behalf to http://127.0.0.1:<port>/
// (CURLOPT_CONNECT_ONLY: connected is all it takes; nobody has to answer).
// <curl/curl.h> is not installed here: the few functions are declared as pointers and the
// options used by their numbers from curl.h.
#include <dlfcn.h>

#include <string>

#include "../attack.hpp"

namespace {

// Option numbers from curl.h: CURLOPTTYPE_LONG is 0, CURLOPTTYPE_STRINGPOINT 10000.
constexpr int kOptUrl = 10002;
constexpr int kOptProxy = 10004;  // "" turns every proxy off, whatever the environment says
constexpr int kOptNoSignal = 99;
constexpr int kOptConnectOnly = 141;
constexpr int kOptConnectTimeoutMs = 156;
constexpr long kGlobalDefault = 3;  // CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32

// The part of libcurl's API used here, looked up in the library dlopen() returned.
struct Curl {
    int (*global_init)(long);
    void* (*easy_init)();
    int (*easy_setopt)(void*, int, ...);
    int (*easy_perform)(void*);
    void (*easy_cleanup)(void*);
    const char* (*easy_strerror)(int);

    explicit Curl(void* lib) {
        load(lib, global_init, "curl_global_init");
        load(lib, easy_init, "curl_easy_init");
        load(lib, easy_setopt, "curl_easy_setopt");
        load(lib, easy_perform, "curl_easy_perform");
        load(lib, easy_cleanup, "curl_easy_cleanup");
        load(lib, easy_strerror, "curl_easy_strerror");
    }
    bool complete() const {
        return global_init && easy_init && easy_setopt && easy_perform && easy_cleanup &&
               easy_strerror;
    }

private:
    template <typename Fn>
    static void load(void* lib, Fn& fn, const char* name) {
        fn = reinterpret_cast<Fn>(::dlsym(lib, name));
    }
};

void attempt(const Curl& curl, const std::string& target, int port) {
    void* easy = curl.easy_init();
    if (easy == nullptr) return attack::blocked(target, "curl_easy_init failed");
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    curl.easy_setopt(easy, kOptUrl, url.c_str());
    curl.easy_setopt(easy, kOptProxy, "");
    curl.easy_setopt(easy, kOptNoSignal, 1L);
    curl.easy_setopt(easy, kOptConnectOnly, 1L);
    curl.easy_setopt(easy, kOptConnectTimeoutMs, 2000L);
    const int code = curl.easy_perform(easy);
    if (code == 0) {
        attack::reached(target);
    } else {
        attack::blocked(target, std::string("curl: ") + curl.easy_strerror(code));
    }
    curl.easy_cleanup(easy);
}

}  // namespace

void attack::run(const Targets& targets) {
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        const char* why = ::dlerror();
        blocked("radio", std::string("dlopen libcurl.so.4: ") + (why ? why : "failed"));
        return blocked("listener", "no libcurl");
    }
    const Curl curl(lib);
    if (!curl.complete()) return blocked("radio", "libcurl lacks a function");
    curl.global_init(kGlobalDefault);
    if (targets.radio_port) attempt(curl, "radio", *targets.radio_port);
    if (targets.listener_port) attempt(curl, "listener", *targets.listener_port);
}
