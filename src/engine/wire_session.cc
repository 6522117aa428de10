#include "diffsync/engine/wire_session.h"

#include <memory>
#include <string>
#include <string_view>

#include "engine/wire_context.h"

namespace diffsync::engine {
namespace {

constexpr char kCompactKey[] = "compact";

}  // namespace

struct WireSession::Contexts {
  internal::WireContext sent;
  internal::WireContext received;
};

WireSession::WireSession(Role role, bool compact)
    : role_(role), allow_(compact), contexts_(std::make_unique<Contexts>()) {}
WireSession::~WireSession() = default;
WireSession::WireSession(WireSession&&) noexcept = default;
WireSession& WireSession::operator=(WireSession&&) noexcept = default;

Result<std::string> WireSession::Encode(const Message& message) {
  if (!allow_) return EncodeMessage(message);
  const bool announce = !active_ && !message.documents.empty() &&
                        (role_ == Role::kClient ? !offered_ : requested_);
  const internal::WireForm form =
      active_ ? internal::WireForm::kCompact : internal::WireForm::kNormal;
  Result<std::string> wire = [&] {
    if (!announce) {
      return internal::EncodeMessage(message, form, contexts_->sent);
    }
    Message m = message;
    m.documents[0].metadata.push_back({kCompactKey, ""});
    return internal::EncodeMessage(m, form, contexts_->sent);
  }();
  if (wire.ok() && announce) {
    if (role_ == Role::kClient) {
      offered_ = true;
    } else {
      active_ = true;
    }
  }
  return wire;
}

Result<Message> WireSession::Decode(std::string_view wire) {
  Result<Message> message =
      allow_ ? internal::DecodeMessage(wire,
                                       active_ ? internal::WireForm::kCompact
                                               : internal::WireForm::kNormal,
                                       contexts_->received)
             : DecodeMessage(wire);
  if (!message.ok()) return message.status();
  for (DocumentBlock& block : message->documents) {
    const size_t before = block.metadata.size();
    std::erase_if(block.metadata,
                  [](const Metadata& m) { return m.key == kCompactKey; });
    if (block.metadata.size() != before && allow_) {
      if (role_ == Role::kServer) requested_ = true;
      if (role_ == Role::kClient && offered_) active_ = true;
    }
  }
  return message;
}

}  // namespace diffsync::engine
