"""Complaint wording for simulated streams: everyday complaints per category and the
wording of each kind of injected burst, in Chinese and English, with the slips of real
users (typos, homophones, missing punctuation). Written for the simulator; the
classifier's corpus is separate."""
# ruff: noqa: RUF001 - Chinese complaint text uses full-width punctuation

from __future__ import annotations

import random

# {m} merchant name, {a} amount, {d} days, {b} bank, {t} time of day.
BACKGROUND: dict[str, dict[str, tuple[str, ...]]] = {
    "unauthorized_debit": {
        "zh": (
            "我没买过东西怎么在{m}扣了我{a}块",
            "账户里莫名其妙少了{a}元，不是我本人操作的",
            "收到扣款短信{a}元，我根本没去过{m}",
            "有人盗刷了我的钱包，{t}扣了{a}",
            "这笔{a}的消费不是我做的，赶紧帮我查一下",
            "半夜被扣了{a}块钱，商户是{m}，我在睡觉啊",
        ),
        "en": (
            "there's a {a} payment to {m} that i never made",
            "someone used my wallet, {a} gone at {t}",
            "I didn't authorize this charge of {a} from {m}",
            "money missing from my acount, not me!!",
            "got a debit alert for {a} but I was asleep",
            "who spent {a} at {m}?? wasn't me",
        ),
    },
    "funds_frozen": {
        "zh": (
            "我的余额被冻结了，也没人告诉我为什么",
            "账户被限制了，钱提不出来，急用",
            "为什么冻结我账户？我什么都没干",
            "余额{a}元被锁了{d}天了",
            "账号突然被风控，里面还有{a}",
        ),
        "en": (
            "my balance is frozen and nobody explains why",
            "account restricted, can't use my {a}",
            "why is my wallet locked?? I did nothing wrong",
            "funds on hold for {d} days now",
            "you froze my account with {a} in it, fix this",
        ),
    },
    "topup_withdrawal": {
        "zh": (
            "提现{a}元{d}天了还没到{b}",
            "用{b}充值{a}一直显示处理中",
            "充值扣了银行的钱钱包没加上",
            "提现失败但是余额也没退回来",
            "想把钱提到{b}，一直转圈圈",
            "充值{a}块为什么要等这么久",
        ),
        "en": (
            "withdrew {a} to {b} {d} days ago, still nothing",
            "top up from {b} stuck on processing",
            "bank took {a} but wallet balance didnt change",
            "withdrawal failed and money not returned",
            "cash out to my {b} card keeps spinning",
            "how long does a top-up of {a} take??",
        ),
    },
    "verification_login": {
        "zh": (
            "换了手机登录不上了",
            "密码输错几次就被锁了",
            "人脸识别一直失败进不去",
            "登陆的时候说设备异常",
            "忘记密码了，找回流程太麻烦",
            "老是让我重新登录",
        ),
        "en": (
            "can't log in on my new phone",
            "locked out after typing the password wrong",
            "face check keeps failing, can't get in",
            "it says unusual device when I sign in",
            "password reset flow is a nightmare",
            "app keeps logging me out",
        ),
    },
    "fees": {
        "zh": (
            "提现为什么收{a}的手续费",
            "转账怎么还要扣服务费，之前不是免费的吗",
            "这个费用没有提前说明啊",
            "手续费比上个月高了",
            "收费标准在哪里能看到",
        ),
        "en": (
            "why was I charged a {a} fee for withdrawing",
            "transfer fee?? it used to be free",
            "nobody told me about this fee",
            "fees went up since last month",
            "where can I see the fee rules",
        ),
    },
    "points": {
        "zh": (
            "上次在{m}消费的积分没有到账",
            "积分兑换的券用不了",
            "积分怎么少了一半",
            "活动说送积分，我参加了没给",
            "积分商城的东西兑换失败",
        ),
        "en": (
            "points from my {m} purchase never showed up",
            "redeemed points for a voucher, voucher doesn't work",
            "half my reward points are missing",
            "joined the promo, no bonus points",
            "points shop redemption failed",
        ),
    },
    "refund": {
        "zh": (
            "{m}说已经退款了，我这边没收到",
            "退款申请{d}天了还没处理",
            "订单取消了钱什么时候退",
            "退款退了一半，剩下的呢",
            "商家同意退款但钱包里没有",
        ),
        "en": (
            "{m} says they refunded but I got nothing",
            "refund requested {d} days ago, still pending",
            "cancelled my order, when do I get my money back",
            "only got half the refund from {m}",
            "merchant approved the refund but it's not in my wallet",
        ),
    },
    "service_quality": {
        "zh": (
            "客服电话一直打不通",
            "在线客服只会发模板，解决不了问题",
            "等了{d}天都没人回复我的工单",
            "客服态度太差了",
            "转了三个人还是没解决",
        ),
        "en": (
            "support line never picks up",
            "chat agent just pastes templates",
            "no reply to my ticket in {d} days",
            "the agent was rude to me",
            "transferred three times and nothing solved",
        ),
    },
    "privacy": {
        "zh": (
            "最近老是接到推销电话，是不是你们泄露了我的信息",
            "为什么要读取我的通讯录",
            "我要注销账户删除个人信息",
            "广告短信太多了，怎么关掉",
        ),
        "en": (
            "getting spam calls since I signed up, did you leak my number",
            "why does the app want my contacts",
            "I want my personal data deleted",
            "how do I stop the marketing texts",
        ),
    },
    "feature_request": {
        "zh": (
            "希望能加个夜间模式",
            "能不能支持{b}的信用卡还款",
            "建议账单可以导出excel",
            "希望转账可以备注",
        ),
        "en": (
            "please add dark mode",
            "would be nice to pay my {b} credit card from the app",
            "let me export statements to excel",
            "add a note field to transfers pls",
        ),
    },
    "other": {
        "zh": (
            "app有时候有点卡",
            "首页广告太多了",
            "找不到在哪里改绑手机号",
            "账单里的商户名字看不懂",
        ),
        "en": (
            "app is a bit laggy sometimes",
            "too many ads on the home screen",
            "can't find where to change my phone number",
            "merchant names on my statement make no sense",
        ),
    },
}

BURSTS: dict[str, dict[str, tuple[str, ...]]] = {
    "checkout_outage": {
        "zh": (
            "在{m}付款一直失败，钱却扣了",
            "{m}结账的时候支付失败，显示扣款成功订单没成功",
            "刚在{m}买东西付不了款",
            "{m}支付失败了三次！！！",
            "{m}下单付款失败但是钱包扣了钱",
        ),
        "en": (
            "payment failed at {m} but my money is gone",
            "can't pay at {m} checkout, keeps failing",
            "{m} checkout payment error, charged anyway",
            "tried to pay {m} 3 times, payment failed",
        ),
    },
    "code_not_arriving": {
        "zh": (
            "更新以后验证码一直收不到",
            "登录要验证码，短信一直不来",
            "收不到短信验证码，登不上去",
            "升级新版本后验证码没收到，急死了",
            "验证码发了五次都没收到",
        ),
        "en": (
            "after the update I never get the verification code",
            "sms code not arriving, can't log in",
            "login code never came after updating",
            "didn't get the OTP, tried 5 times",
        ),
    },
    "bank_transfer_missing": {
        "zh": (
            "转账到银行卡显示成功但是钱没到账",
            "往银行卡转的钱还没到，明明提示成功了",
            "转到银行卡的钱没有到账，已经两个小时了",
            "转账给朋友银行卡一直未到账",
            "银行卡转账成功了对方没收到钱",
        ),
        "en": (
            "transfer to bank card says success but money not arrived",
            "sent money to a bank account, hasn't arrived",
            "bank card transfer shows completed, not credited",
        ),
    },
    "double_charge": {
        "zh": (
            "在{m}买一次扣了两次钱",
            "{m}重复扣款了，一单扣了两笔",
            "{m}消费被扣了两次，请退一笔",
        ),
        "en": (
            "{m} charged me twice for one order",
            "double charged at {m}",
            "two charges from {m} for the same thing",
        ),
    },
    "points_wiped": {
        "zh": (
            "我的积分突然全部清零了",
            "积分莫名其妙没了，还没到过期时间",
            "积分被清零了，谁给个说法",
            "攒了一年的积分一下子不见了",
        ),
        "en": (
            "all my points got wiped overnight",
            "my reward points disappeared, they weren't expired",
            "points balance is zero now??",
            "my points are gone, what happened",
        ),
    },
    "gate_qr_failure": {
        "zh": (
            "地铁闸机扫码付款失败，进不了站",
            "早上地铁扫码一直失败，被堵在闸机口",
            "{m}扫码过闸失败，二维码刷不出来",
            "地铁二维码付款一直转圈",
            "闸机扫码支付失败，后面的人都在骂",
        ),
        "en": (
            "metro gate QR payment failing, can't get in",
            "subway QR code won't scan at the gate",
            "{m} gate says payment failed, stuck at the station",
        ),
    },
    "withdrawal_error": {
        "zh": ("提现失败，提示错误码{e}", "提现到银行卡报错{e}", "一提现就显示{e}，钱出不来"),
        "en": (
            "withdrawal fails with error {e}",
            "cash out error {e} every time",
            "can't withdraw, code {e}",
        ),
    },
    "reset_lockout": {
        "en": (
            "reset my password and now I'm locked out",
            "after password reset the app says account locked",
            "cannot log in since resetting password",
            "password reset worked but login says locked",
            "locked out right after changing my password",
        ),
        "zh": ("重置密码之后账户被锁了",),
    },
    "charger_not_starting": {
        "zh": (
            "{m}充电桩扫码付了钱不充电",
            "充电桩扣了钱但是没开始充电",
            "{m}的充电桩付款后没反应",
        ),
        "en": (
            "paid at the {m} charger but it never started",
            "ev charger took my money, no charging",
        ),
    },
    "crash_on_launch": {
        "zh": (
            "更新后app一打开就闪退",
            "新版本闪退，根本打不开",
            "升级之后一直闪退，钱都用不了",
            "打开就崩溃，刚更新的",
        ),
        "en": (
            "app crashes on launch after update",
            "new version keeps crashing, can't open it",
            "updated and now it force closes immediately",
        ),
    },
    "bank_topup_failure": {
        "zh": (
            "用招商银行卡充值一直失败",
            "招行卡充不进去，提示交易失败",
            "招商银行的卡充值失败了好几次",
            "招行充值不了，别的卡可以",
        ),
        "en": (
            "top up from China Merchants Bank card keeps failing",
            "CMB card recharge failed again",
        ),
    },
    "delivery_refund_missing": {
        "zh": (
            "{m}订单取消了退款一直没到",
            "{m}退款说成功了钱包没收到",
            "在{m}取消订单后退款没有到账",
            "{m}的退款还没退回来",
            "{m}外卖被取消了，钱没退",
        ),
        "en": (
            "{m} cancelled my order, refund never arrived",
            "{m} refund shows done, not in wallet",
            "still waiting for the {m} refund after cancellation",
        ),
    },
}

_ZH_SLIPS = (("账", "帐"), ("登录", "登陆"), ("的", "得"), ("在", "再"), ("了", ""), ("吗", "嘛"))
_ZH_ENDINGS = ("", "", "", "！", "！！", "？？", "。", "...", " 急", " 谢谢")
_EN_ENDINGS = ("", "", "", "!", "!!", "??", ".", " pls help", " asap", " thx")


def misspell(text: str, language: str, rng: random.Random) -> str:
    """Make a text look typed in a hurry: slips, casing, punctuation."""
    if language == "zh":
        for right, wrong in _ZH_SLIPS:
            if right in text and rng.random() < 0.15:
                text = text.replace(right, wrong, 1)
        return text + rng.choice(_ZH_ENDINGS)
    words = text.split()
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        position = rng.randrange(len(words))
        word = words[position]
        if len(word) > 3:
            cut = rng.randrange(1, len(word) - 1)
            slip = rng.choice(("drop", "double", "swap"))
            if slip == "drop":
                word = word[:cut] + word[cut + 1 :]
            elif slip == "double":
                word = word[:cut] + word[cut] + word[cut:]
            else:
                word = word[: cut - 1] + word[cut] + word[cut - 1] + word[cut + 1 :]
            words[position] = word
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.capitalize()
    elif rng.random() < 0.1:
        text = text.upper()
    return text + rng.choice(_EN_ENDINGS)
