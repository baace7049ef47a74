#include "adapters/quic/quic_records.h"

#include <algorithm>

namespace flare::quic {

std::string EncodeRecordHeader(RecordType type, size_t payload_bytes) {
  auto n = static_cast<uint32_t>(payload_bytes);
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
          static_cast<char>(n), static_cast<char>(type)};
}

std::string EncodeClosePayload(uint16_t code, std::string_view reason) {
  std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  out.append(reason.substr(0, kMaxCloseReasonBytes));
  return out;
}

bool DecodeClosePayload(std::string_view payload, uint16_t& code, std::string& reason) {
  if (payload.size() < 2) return false;
  code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                               static_cast<uint8_t>(payload[1]));
  reason = std::string(payload.substr(2));
  return true;
}

RecordReader::Status RecordReader::Next(RecordType& type, std::string_view& payload) {
  if (consumed_ == buffer_.size()) {  // all read: start over without copying
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 0 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  if (buffered() < kRecordHeaderBytes) return Status::kNeedMore;
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
  size_t length = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (p[4] > static_cast<uint8_t>(RecordType::kClose)) return Status::kBadType;
  type = static_cast<RecordType>(p[4]);
  size_t limit = type == RecordType::kToken ? kMaxTokenBytes : max_frame_bytes_;
  if (type == RecordType::kClose) limit = 2 + kMaxCloseReasonBytes;
  if (length > limit) return Status::kTooBig;
  if (buffered() < kRecordHeaderBytes + length) return Status::kNeedMore;
  payload = std::string_view(buffer_.data() + consumed_ + kRecordHeaderBytes, length);
  consumed_ += kRecordHeaderBytes + length;
  return Status::kRecord;
}

void SendBuffer::Add(RecordType type, std::shared_ptr<const std::string> payload) {
  Piece piece;
  std::string header = EncodeRecordHeader(type, payload->size());
  header.copy(piece.header, kRecordHeaderBytes);
  piece.payload = std::move(payload);
  total_ += piece.size();
  pieces_.push_back(std::move(piece));
}

size_t SendBuffer::Unsent(Span* out, size_t max) const {
  size_t n = 0;
  size_t offset = sent_offset_;
  for (size_t i = sent_piece_; i < pieces_.size() && n < max; ++i, offset = 0) {
    const Piece& piece = pieces_[i];
    if (offset < kRecordHeaderBytes) {
      out[n++] = {reinterpret_cast<const uint8_t*>(piece.header) + offset,
                  kRecordHeaderBytes - offset};
      offset = kRecordHeaderBytes;
      if (n == max) break;
    }
    size_t in_payload = offset - kRecordHeaderBytes;
    if (in_payload < piece.payload->size()) {
      out[n++] = {reinterpret_cast<const uint8_t*>(piece.payload->data()) + in_payload,
                  piece.payload->size() - in_payload};
    }
  }
  return n;
}

void SendBuffer::Sent(size_t n) {
  sent_ += n;
  while (n > 0 && sent_piece_ < pieces_.size()) {
    size_t left = pieces_[sent_piece_].size() - sent_offset_;
    size_t step = std::min(left, n);
    sent_offset_ += step;
    n -= step;
    if (sent_offset_ == pieces_[sent_piece_].size()) {
      ++sent_piece_;
      sent_offset_ = 0;
    }
  }
}

void SendBuffer::Acked(size_t n) {
  acked_ += n;
  while (n > 0 && !pieces_.empty()) {
    size_t left = pieces_.front().size() - front_acked_;
    size_t step = std::min(left, n);
    front_acked_ += step;
    n -= step;
    if (front_acked_ == pieces_.front().size()) {
      pieces_.pop_front();
      front_acked_ = 0;
      if (sent_piece_ > 0) --sent_piece_;
    }
  }
}

}  // namespace flare::quic
