// The API docs page (/api/v1/docs): Swagger UI on the app's OpenAPI document. No inline
// script (the Content-Security-Policy forbids it) and no outside requests: the validator
// badge is off. Calls made with "Try it out" use the signed-in session, so unsafe ones carry
// the page's CSRF token — unless an API token was entered under "Authorize".
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    var meta = document.querySelector('meta[name="csrf-token"]');
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-spec-url"),
      domNode: root,
      deepLinking: true,
      validatorUrl: null,
      requestInterceptor: function (request) {
        if (meta && !request.headers.Authorization) {
          request.headers["X-CSRFToken"] = meta.getAttribute("content");
        }
        return request;
      }
    });
  });
}());
