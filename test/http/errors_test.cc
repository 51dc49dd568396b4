#include "http/errors.h"

#include <gtest/gtest.h>

namespace arca::http {
namespace {

TEST(ErrorsTest, EveryCodeMapsToVaultsStatus) {
  struct Case {
    Code code;
    int status;
  };
  for (Case c : {Case{Code::kInvalidArgument, 400}, Case{Code::kPermissionDenied, 403},
                 Case{Code::kNotFound, 404}, Case{Code::kUnsupportedPath, 404},
                 Case{Code::kUnsupportedOperation, 405}, Case{Code::kFailedPrecondition, 412},
                 Case{Code::kTooLarge, 413}, Case{Code::kUnsupportedMediaType, 415},
                 Case{Code::kResourceExhausted, 429}, Case{Code::kInternal, 500},
                 Case{Code::kUnavailable, 503}, Case{Code::kSealed, 503},
                 Case{Code::kAborted, 400}, Case{Code::kDataLoss, 500}}) {
    EXPECT_EQ(HttpStatusFor(c.code), c.status) << static_cast<int>(c.code);
    HttpResponse r = ErrorResponse(Status(c.code, "m"));
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.body, "{\"errors\":[\"m\"]}\n");
    EXPECT_EQ(r.content_type, "application/json");
  }
}

TEST(ErrorsTest, EmptyMessagesAndDefaults) {
  EXPECT_EQ(ErrorResponse(NotFound()).body, "{\"errors\":[]}\n");
  EXPECT_EQ(ErrorResponse(InvalidArgument("")).body, "{\"errors\":[]}\n");
  EXPECT_EQ(ErrorResponse(Status(Code::kUnsupportedOperation, "")).body, "{\"errors\":[]}\n");
  EXPECT_EQ(ErrorResponse(Internal("")).body, "{\"errors\":[\"internal error\"]}\n");
  EXPECT_EQ(ErrorResponse(Status(Code::kDataLoss, "")).body,
            "{\"errors\":[\"internal error\"]}\n");
  EXPECT_EQ(ErrorResponse(Status(Code::kSealed, "")).body,
            "{\"errors\":[\"Vault is sealed\"]}\n");
  EXPECT_EQ(ErrorResponse(SealedError()).body, "{\"errors\":[\"Vault is sealed\"]}\n");
  EXPECT_EQ(ErrorResponse(Status(Code::kPermissionDenied, "")).body,
            "{\"errors\":[\"permission denied\"]}\n");
  EXPECT_EQ(ErrorResponse(UnsupportedPath()).body, "{\"errors\":[\"unsupported path\"]}\n");
}

TEST(ErrorsTest, MessagesAreJsonEscaped) {
  HttpResponse r = ErrorResponse(400, "1 error occurred:\n\t* \"x\"\n\n");
  EXPECT_EQ(r.body, "{\"errors\":[\"1 error occurred:\\n\\t* \\\"x\\\"\\n\\n\"]}\n");
}

TEST(ErrorsTest, OkStatusIsNeverSentAsSuccess) {
  EXPECT_EQ(HttpStatusFor(Code::kOk), 500);
}

}  // namespace
}  // namespace arca::http
