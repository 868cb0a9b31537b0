// PluginRunner: the loop that runs the callbacks the host invokes, the closures, the workers.
#include "plugin_runner/plugin_runner.hpp"

#include <chrono>
#include <cstdio>

#include "plugin_channel/abi_messages.hpp"

namespace meshbot::runner {

PluginRunner::PluginRunner(HostChannel& channel)
    : channel_(channel), loop_thread_(std::this_thread::get_id()) {}

PluginRunner::~PluginRunner() {
    {
        const std::lock_guard lock(jobs_mutex_);
        stopping_ = true;
    }
    jobs_ready_.notify_all();
    // A job that never ends keeps its worker: the process exits without waiting for it.
    for (auto& worker : workers_)
        worker.detach();
}

bool PluginRunner::on_loop_thread(const char* call) const {
    if (std::this_thread::get_id() == loop_thread_) return true;
    std::fprintf(stderr, "%s called from another thread; the host API is for the event loop only\n",
                 call);
    return false;
}

std::uint64_t PluginRunner::keep(Closure closure) {
    const std::uint64_t id = next_closure_++;
    closures_.emplace(id, closure);
    return id;
}

void PluginRunner::drop_closure(std::uint64_t id) {
    const auto it = closures_.find(id);
    if (it == closures_.end()) return;
    const Closure c = it->second;
    closures_.erase(it);
    if (c.release) guarded("release", [&] { c.release(c.user); });
}

void PluginRunner::release_all() {
    // A post_work job's user may still be in its work() on a worker: it is left alone (the
    // process exits next), never released under the worker's feet.
    std::vector<std::uint64_t> ids;
    for (const auto& [id, c] : closures_) {
        if (c.work == nullptr) ids.push_back(id);
    }
    for (const auto id : ids)
        drop_closure(id);
}

template <typename Fn>
void PluginRunner::guarded(const char* what, Fn&& fn) {
    try {
        fn();
    } catch (...) {
        report_fault(std::string(what) + ": exception thrown across the plugin boundary");
    }
}

std::vector<channel::Answer> PluginRunner::call(channel::Call& call) {
    if (host_gone_) return {};
    auto answers = channel_.call(call);
    if (answers.empty()) host_gone_ = true;
    return answers;
}

mb_result PluginRunner::call_result(channel::Call& c, std::uint64_t* id) {
    const auto answers = call(c);
    if (answers.empty()) return MB_ERR_INTERNAL;
    if (id) *id = answers.back().id();
    const int result = answers.back().result();
    return result >= MB_OK && result <= MB_ERR_INTERNAL ? static_cast<mb_result>(result)
                                                        : MB_ERR_INTERNAL;
}

void PluginRunner::one_way(channel::Call& c) {
    if (host_gone_) return;
    channel::RunnerMessage message;
    *message.mutable_call() = std::move(c);
    if (!channel_.send(message)) host_gone_ = true;
}

void PluginRunner::invoke(const channel::Invoke& in) {
    const auto start = std::chrono::steady_clock::now();
    const auto it = closures_.find(in.closure());
    if (it != closures_.end()) {
        const Closure c = it->second;
        switch (in.body_case()) {
            case channel::Invoke::kCommand:
                if (c.command) {
                    const auto& m = in.command();
                    const mb_packet packet = channel::to_abi(m.packet());
                    mb_command command{};
                    command.struct_size = sizeof command;
                    command.event = m.event();
                    command.packet = &packet;
                    command.name = channel::str(m.name());
                    command.args = channel::str(m.args());
                    sender_ = m.has_sender() ? &m.sender() : nullptr;
                    guarded("command handler", [&] { c.command(c.user, &command); });
                    sender_ = nullptr;
                }
                break;
            case channel::Invoke::kEvent:
                if (c.event) {
                    const auto& m = in.event();
                    const mb_packet packet = channel::to_abi(m.packet());
                    const mb_node node = channel::to_abi(m.node());
                    mb_event event{};
                    event.struct_size = sizeof event;
                    event.kind = static_cast<mb_event_kind>(m.kind());
                    event.event = m.event();
                    event.packet = m.has_packet() ? &packet : nullptr;
                    event.node = m.has_node() ? &node : nullptr;
                    event.reason = channel::str(m.reason());
                    guarded("event handler", [&] { c.event(c.user, &event); });
                }
                break;
            case channel::Invoke::kSendResult:
                if (c.send) {
                    const auto& m = in.send_result();
                    const mb_packet response = channel::to_abi(m.response());
                    mb_send_result result{};
                    result.struct_size = sizeof result;
                    result.status = static_cast<mb_send_status>(m.status());
                    result.id = m.id();
                    result.routing_error = m.routing_error();
                    result.from = m.from();
                    result.response = m.has_response() ? &response : nullptr;
                    result.message = channel::str(m.message());
                    guarded("send_data callback", [&] { c.send(c.user, &result); });
                }
                break;
            case channel::Invoke::kTimer:
                if (c.timer) guarded("timer", [&] { c.timer(c.user); });
                break;
            case channel::Invoke::kWorkDone:
                // The host never saw this closure: the job ends here, done then release.
                if (c.work) {
                    if (c.done) guarded("post_work done", [&] { c.done(c.user); });
                    drop_closure(in.closure());
                }
                break;
            default:
                break;
        }
    }
    channel::RunnerMessage returned;
    returned.mutable_returned()->set_seq(in.seq());
    returned.mutable_returned()->set_micros(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - start)
                                       .count()));
    if (!host_gone_ && !channel_.send(returned)) host_gone_ = true;
}

int PluginRunner::run(const mb_plugin_info& info, mb_plugin* instance) {
    while (!host_gone_) {
        auto message = channel_.next();
        if (!message) break;
        switch (message->body_case()) {
            case channel::HostMessage::kInvoke:
                invoke(message->invoke());
                break;
            case channel::HostMessage::kRelease:
                drop_closure(message->release());
                break;
            case channel::HostMessage::kShutdown:
                guarded("plugin destructor", [&] { info.destroy(instance); });
                release_all();
                return 0;
            default:
                break;
        }
    }
    // The host went away (it exits, or it was killed): nobody is left to serve.
    std::fprintf(stderr, "channel to the host: %s\n",
                 channel_.error().empty() ? "closed" : channel_.error().c_str());
    return 0;
}

mb_result PluginRunner::post_work(mb_work_fn work, mb_work_fn done, void* user,
                                  mb_release_fn release_fn) {
    if (work == nullptr) {
        if (release_fn) release_fn(user);
        return MB_ERR_ARGUMENT;
    }
    const std::uint64_t id =
        keep({.work = work, .done = done, .user = user, .release = release_fn});
    {
        const std::lock_guard lock(jobs_mutex_);
        jobs_.push_back(Job{id, work, user});
        if (workers_.size() < 2 && jobs_.size() > 0) {
            workers_.emplace_back([this] { work_loop(); });
        }
    }
    jobs_ready_.notify_one();
    return MB_OK;
}

void PluginRunner::work_loop() {
    for (;;) {
        Job job{};
        {
            std::unique_lock lock(jobs_mutex_);
            jobs_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = jobs_.front();
            jobs_.pop_front();
        }
        try {
            job.work(job.user);
        } catch (...) {
            std::fprintf(stderr, "post_work: exception thrown by work\n");
        }
        // done() runs on the loop thread: the host turns this into an Invoke, and times it.
        channel::RunnerMessage finished;
        finished.mutable_call()->set_work_finished(job.closure);
        channel_.send(finished);
    }
}

}  // namespace meshbot::runner
