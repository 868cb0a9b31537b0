#include "plugin_runner/host_channel.hpp"

namespace meshbot::runner {

bool HostChannel::send(const channel::RunnerMessage& message) {
    const std::string bytes = channel::frame(message);
    const std::lock_guard lock(send_mutex_);
    return channel::write_all(fd_, bytes);
}

std::optional<channel::HostMessage> HostChannel::read() {
    const auto bytes = channel::read_message(fd_, reader_, error_);
    if (!bytes) return std::nullopt;
    channel::HostMessage message;
    if (!message.ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
        error_ = "the host sent an undecodable message";
        return std::nullopt;
    }
    return message;
}

std::vector<channel::Answer> HostChannel::call(channel::Call& call) {
    const std::uint64_t request = next_request_++;
    call.set_request(request);
    channel::RunnerMessage out;
    *out.mutable_call() = std::move(call);
    std::vector<channel::Answer> answers;
    if (!send(out)) return answers;
    for (;;) {
        auto message = read();
        if (!message) return {};
        if (!message->has_answer()) {
            kept_.push_back(std::move(*message));
            continue;
        }
        // Calls nest strictly (an inner call completes before the outer one's answer), so an
        // answer to anything but the newest request is a broken host.
        if (message->answer().request() != request) {
            error_ = "an answer to request " + std::to_string(message->answer().request()) +
                     " while waiting for " + std::to_string(request);
            return {};
        }
        const bool more = message->answer().more();
        answers.push_back(std::move(*message->mutable_answer()));
        if (!more) return answers;
    }
}

std::optional<channel::HostMessage> HostChannel::next() {
    if (!kept_.empty()) {
        channel::HostMessage message = std::move(kept_.front());
        kept_.pop_front();
        return message;
    }
    auto message = read();
    if (message && message->has_answer()) {
        error_ = "an answer nobody asked for";
        return std::nullopt;
    }
    return message;
}

}  // namespace meshbot::runner
