// paycore hosted cashier: keeps an open page current and returns to the
// merchant once the payment is final. The page works without it (a plain
// refresh and a link); this only makes it live.
(function () {
  "use strict";
  var main = document.querySelector("main");
  if (!main) { return; }

  // One submission per form: a double tap must not send twice. (The server
  // is idempotent anyway; this spares the payer an error page.)
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    });
  });

  // Open payment: ask for its state every two seconds (for at most an
  // hour) and reload when it changes, so the server draws the new state.
  var poll = main.getAttribute("data-poll");
  var state = main.getAttribute("data-state");
  if (poll) {
    var left = 1800;
    var tick = function () {
      if (--left < 0) { return; }
      fetch(poll, { cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.state !== state) { window.location.reload(); return; }
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 4000); });
    };
    window.setTimeout(tick, 2000);
  }

  // Final payment with a merchant to return to: go back shortly, so the
  // payer sees the result first.
  var back = document.getElementById("return");
  if (main.getAttribute("data-return") && back) {
    window.setTimeout(function () { window.location.assign(back.href); }, 2500);
  }

  // Inside a wallet's app: hand its in-app payment the channel's parameters.
  var holder = document.getElementById("client-params");
  if (holder) {
    var params = {};
    try { params = JSON.parse(holder.getAttribute("data-params") || "{}"); } catch (e) { params = {}; }
    var wallet = holder.getAttribute("data-wallet");
    var start = function () {
      if (wallet === "wechat" && window.WeixinJSBridge) {
        window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {});
      } else if (wallet === "alipay" && window.AlipayJSBridge) {
        window.AlipayJSBridge.call("tradePay", { tradeNO: params.trade_no }, function () {});
      }
    };
    if (window.WeixinJSBridge || window.AlipayJSBridge) { start(); }
    else {
      document.addEventListener("WeixinJSBridgeReady", start, false);
      document.addEventListener("AlipayJSBridgeReady", start, false);
    }
  }
})();
