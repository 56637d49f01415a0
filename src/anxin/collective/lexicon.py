"""A small bilingual lexicon of complaint concepts.

Character n-grams make "verifcation code" close to "verification code", but nothing makes
"验证码收不到" close to "didn't get the code". Each concept below adds one shared token to the
text's features when any of its spellings occurs, so Chinese and English complaints about
the same thing have something in common. Spellings are matched after NFKC and case folding;
common misspellings are listed with the words.
"""

from __future__ import annotations

CONCEPTS: dict[str, tuple[str, ...]] = {
    "code": ("验证码", "校验码", "动态码", "短信码", "otp", "verification code", "verifcation code",
             "verification cod", "sms code", "one-time code", "one time code", "login code"),
    "not_received": ("收不到", "没收到", "没有收到", "未收到", "一直不来", "not arriving", "never arrive",
                     "never came", "not received", "didn't get", "didnt get", "did not get",
                     "not getting", "no sms", "still waiting"),
    "login": ("登录", "登陆", "登不上", "log in", "login", "sign in", "signin", "logged out"),
    "crash": ("闪退", "崩溃", "打不开", "白屏", "卡死", "crash", "crashes", "crashing", "force close",
              "won't open", "wont open", "blank screen", "freezes"),
    "double": ("扣了两次", "扣两次", "重复扣款", "扣款两次", "两笔", "扣了2次", "charged twice",
               "double charge", "double charged", "charged 2 times", "two charges", "duplicate charge"),
    "payment_failed": ("支付失败", "付款失败", "付不了", "支付不了", "付款不成功", "payment failed",
                       "payment fail", "can't pay", "cant pay", "cannot pay", "payment declined",
                       "payment error", "checkout fail"),
    "refund": ("退款", "退钱", "退回", "refund", "refnd", "refunded", "money back"),
    "transfer": ("转账", "转钱", "汇款", "transfer", "tranfer", "transferred", "sent money"),
    "bank_card": ("银行卡", "储蓄卡", "信用卡", "bank card", "bank account", "debit card", "credit card"),
    "not_arrived": ("没到账", "未到账", "不到账", "还没到", "没有到账", "not arrived", "hasn't arrived",
                    "hasnt arrived", "not credited", "never arrived", "didn't arrive", "not showing up"),
    "withdraw": ("提现", "取现", "withdraw", "withdrawal", "withdrawl", "cash out", "cashout"),
    "top_up": ("充值", "充不进", "top up", "top-up", "topup", "recharge", "add money"),
    "frozen": ("冻结", "被锁", "锁定", "限制", "frozen", "freeze", "locked", "blocked", "restricted"),
    "points": ("积分", "点数", "points", "pts", "reward", "rewards", "积分清零"),
    "expired": ("过期", "清零", "没了", "不见了", "expired", "expire", "disappeared", "gone", "wiped"),
    "fee": ("手续费", "服务费", "费用", "fee", "fees", "charge a fee", "surcharge"),
    "qr": ("扫码", "二维码", "付款码", "qr", "qr code", "scan"),
    "unauthorized": ("盗刷", "不是我", "没授权", "陌生", "unauthorized", "unauthorised", "not me",
                     "didn't make", "fraud", "hacked", "stolen"),
    "slow_service": ("客服", "没人理", "没人回复", "态度", "customer service", "no reply", "no response",
                     "support", "agent"),
    "privacy": ("隐私", "个人信息", "泄露", "骚扰电话", "privacy", "personal data", "leaked", "spam calls"),
    "subway": ("地铁", "公交", "闸机", "metro", "subway", "bus", "gate"),
    "charging": ("充电桩", "充电", "charging", "charger", "ev charge"),
    "update": ("更新", "升级", "新版本", "update", "updated", "upgrade", "new version", "latest version"),
}
