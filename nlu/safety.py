"""The safety net's pattern layer: a child in danger is never an ordinary question.

Runs on normalised text beside the intent classifier; either firing routes the message to
the emergency reply. Each rule is a regular expression for one kind of danger, with guard
words that turn it off in harmless everyday uses (打疫苗, 作业多得要死, 接种证丢了,
家里着火了想申请救助, 防溺水教育…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu import clauses

ABUSE, SEXUAL, SELF_HARM, MISSING, NEGLECT, MEDICAL, ONLINE, DANGER = (
    "abuse", "sexual_harm", "self_harm", "missing", "neglect", "medical", "online", "danger")

# Every kind the safety net tells (the ledger stores them on urgent records: ledger/cases.py names them).
KINDS = (ABUSE, SEXUAL, SELF_HARM, MISSING, NEGLECT, MEDICAL, ONLINE, DANGER)
# The danger classes of the evaluation files (tests/data/independent) → the kinds above.
EVAL_CLASSES = {"violence": ABUSE, "sexual": SEXUAL, "medical": MEDICAL, "missing": MISSING,
                "self_harm": SELF_HARM, "neglect": NEGLECT, "online": ONLINE}

_KID = r"(?:孩子|娃|儿子|女儿|闺女|小孩|孩儿|宝宝|小朋友|外孙|孙子|孙女|学生|他|她|我)"
_HARMLESS_HIT = r"(?:疫苗|预防针|针|车|工|球|游戏|电话|扫|印|卡|折|算|听|扰|开|包|字|雷|喷嚏|架子鼓|麻将|牌|招呼|零工|滴|的|气|水|饭|分|篮球)"


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: re.Pattern
    guard: re.Pattern | None = None  # if the guard matches the whole text, the rule stays silent


def _rule(kind: str, pattern: str, guard: str | None = None) -> Rule:
    return Rule(kind, re.compile(pattern), re.compile(guard) if guard else None)


RULES: tuple[Rule, ...] = (
    # --- violence and abuse --------------------------------------------------------
    _rule(ABUSE, r"家暴|虐待|虐打|毒打|暴打|殴打|往死里打|打得(?:很|好|太|特别|那么)?(?:厉害|狠|凶|惨)|"
                 r"打(?:出血|伤|骨折|晕|肿|青)|(?:浑身|全身|身上)(?:都是|全是|是|有)?(?:新)?(?:伤|淤青|青紫)|青一块紫一块|遍体鳞伤|"
                 r"用(?:皮带|棍子|衣架|鞭子|烟头|开水|刀|绳子)(?:打|抽|烫|绑|割)|拿(?:皮带|棍子|衣架|烟头)(?:打|抽|烫)",
          r"怎么(?:判断|预防|防止|识别)|防止.{0,4}家暴|家暴.{0,4}(?:法|知识|宣传|讲座)|是否算|算不算虐待|"
          r"一般(?:向|去|找|怎么)|如果|万一|能管"),
    # a scald by what the medical rule names (被开水烫了) is that rule's, 120 and no one to flee; only that
    # span is passed over, so "被开水烫了又被他妈掐了" is still a beating
    _rule(ABUSE, rf"被(?!(?:开水|热水|热油|滚水|热汤|汤)烫).{{0,8}}(?:打|揍|踢|掐|烫|绑|关起来|锁起来|扇)(?!{_HARMLESS_HIT})",
          r"被(?:同学|人)?(?:起外号|叫外号)|被打败|被我发现|打也打了|被打扰|被打击|被打动|打了?(?:疫苗|针)|被.{0,4}(?:游戏|比赛)|被蚊子|"
          r"万一|如果|应该先|怎么处理|被开水烫伤.{0,4}(?:怎么|先)"),
    _rule(ABUSE, rf"(?:天天|经常|总是|老是|又|一直|动不动就?|每天|常常)(?:打|揍|踢|掐|骂完就打){_KID}",
          r"打(?:疫苗|针|电话|游戏|球)"),
    _rule(ABUSE, rf"(?:爸|妈|爹|娘|父亲|母亲|继父|继母|后妈|后爸|老师|男朋友|女朋友|舅舅|叔叔|邻居|大人|男人|老公|老婆)"
                 rf".{{0,4}}(?:打|揍|踢|掐|烫|抽)(?:了|得|伤|)?{_KID}",
          r"想打|要不要打|该不该打|能不能打|可以打|忍住|打(?:疫苗|针|电话)|打.{0,2}屁股.{0,6}(?:教育|管)"),
    _rule(ABUSE, r"踹(?:了|一个|孩子|小孩|娃|我)|掐(?:我|她|他|孩子)?(?:的)?脖子|烫的疤|烟头烫|打破(?:了)?头|头打破|流了?好多血|弄死(?:她|他|孩子|你)|(?:头|脸|耳朵|鼻子)(?:被打)?(?:流血|出血)|"
                 r"(?:锁|关)在(?:阳台|门外|外面|笼子|狗笼)|围(?:在|着).{0,6}打|又在打|又动手|正在打|"
                 r"beat(?:ing)? (?:me|my|him|her)|hits? me|abus",
          r"一般|如果|万一|打(?:疫苗|针|电话|游戏)"),
    # --- sexual harm ------------------------------------------------------------------
    _rule(SEXUAL, r"性侵|猥亵|强奸|强暴|性骚扰|性虐|侵犯了?(?:她|他|孩子|我|女儿|儿子)|"
                  r"摸(?:她|他|孩子|我|女儿|儿子|娃)?的?(?:下体|隐私|私处|胸|屁股)|脱(?:她|他|孩子|我)的?(?:衣服|裤子)|"
                  r"(?:拍|要|发)(?:她|他|孩子|我)?的?裸照|裸聊|"
                  r"摸(?:我|她|他)(?:女儿|儿子|闺女|孩子|女兒|娃)?(?!.{0,3}(?:头|脸|额头))|动手动脚|黄色(?:照片|视频|图片)|"
                  r"(?:下面|下体|私处)(?:在)?(?:流血|出血|疼)|进我房间摸|碰我(?:下面|下体|隐私|身体)|"
                  r"(?:拿|用)(?:我|她|他)的?(?:照片|视频)威胁|灌.{0,4}酒|网上认识的.{0,12}(?:接|带|见面|走|跑)|"
                  r"把门锁了|单独(?:留|关)在|touch(?:es|ed)? me|molest|rape",
          r"(?:预防|防范|防止|怎么防|如何防).{0,6}(?:性侵|猥亵|性骚扰)|性教育|防性侵.{0,4}(?:课|教育|知识)"),
    # --- self-harm and suicide -------------------------------------------------------
    _rule(SELF_HARM, r"自杀|轻生|寻死|不想活|活着没(?:意思|意义)|活不下去|想死|去死|求死|"
                     r"割腕|割手|划手|自残|伤害自己|上吊|跳楼|跳河|跳江|跳海|从楼上跳|要跳下去|"
                     r"吃了(?:很多|好多|一瓶|一把|整瓶)?(?:安眠药|药片|药)|喝(?:了)?农药|喝(?:了)?敌敌畏|结束(?:自己的)?生命|遗书|"
                     r"不想(?:再)?活|死了算了|一了百了|(?:划|割)(?:了)?(?:自己|手腕)|(?:从|往)(?:窗户|楼上|阳台|桥上).{0,4}跳下去|"
                     r"吞了(?:一整瓶|一瓶|很多|好多)|kill (?:him|her|my)sel|suicid|bu ?xiang ?huo|"
                     r"撑不下去|今晚就(?:结束|走|了断)|(?:发了|留下?了?)(?:告别|遗言)|告别的话|刀片|绳子(?:已经)?准备好|跳下去就|解脱|"
                     r"东西都送(?:给)?|以后别找|(?:割|划)了(?:好几|几)?(?:道|下)|一起(?:跳下去|死)|对不起.{0,12}我?先走了|留了?(?:纸条|信).{0,10}(?:走了|再见|对不起)",
          r"(?:预防|识别|防止)(?:自杀|自伤)|想死(?:你|您|妈妈|爸爸|宝贝|宝宝|你们|姥姥|奶奶)|想死我了|"
          r"(?:股票|基金|工作|加班|上班|老板|房贷).{0,8}(?:想死|跳楼|不想活)|哈哈|(?:气|笑|累|热|冷|忙|烦|困|吵|急|痒|疼|馋|懒|难吃)死|要死了?(?:的)?作业|"
          r"多得要死|得要死"),
    # --- missing or abducted ----------------------------------------------------------
    _rule(MISSING, r"拐卖|人贩子|被拐|失踪|走丢|走失|"
                   r"(?:孩子|娃|儿子|女儿|闺女|小孩|宝宝|孙子|孙女).{0,6}(?:不见了|丢了|找不到了|找不着了|没回家|没回来|联系不上|打不通|关机了|离家出走|跑了)|"
                   r"一(?:夜|晚上|宿)(?:都)?没回|找遍了|人不在家.{0,8}(?:电话|手机).{0,2}(?:不接|关机|打不通)|"
                   r"(?:被|叫)(?:人|陌生人|坏人)?(?:带走|抱走|骗走|抢走|拐走|拐跑)|拐走|拐跑|抢孩子|硬(?:拽|拉|拖).{0,6}(?:孩子|小孩)|被人贩子|"
                   r"\bmissing\b|kidnap|bu ?jian ?le|zou ?diu|took my (?:son|daughter|child|kid)|"
                   r"一转眼(?:就)?不见|(?:抱|抢|拉|接|拖)走了|(?:抱|抢|拉|接)走(?:我|孩子|娃)|拖着(?:走|跑)|不认识他|现在找不到了?|"
                   r"(?:孩子|娃|儿子|女儿|孙子|孙女).{0,8}跟.{0,10}(?:跑了|走了)|往.{0,4}(?:巷子|车)里(?:拉|拽|走)|要把(?:她|他|孩子)带走",
          r"(?:证|证明|本|卡|书|包|钱|手机|户口|材料|作业|衣服|东西|玩具|钥匙|学籍|档案|资料)(?:不见了|丢了|找不到)|防走失|防拐|(?:预防|防止)(?:走失|拐卖)|"
          r"(?:证|本|卡|材料|资料)(?:都|也)?找不(?:到|着)|认定|事实无人抚养|能不能申请|怎么申请|"
          # a parent who left long ago, not a missing child ("娃他爸进去了 娃妈早跑了"): on the rule's own
          # clause only, so a danger told in the next fragment is read as ever ("娃妈早跑了 娃走丢了")
          r"(?:孩子|娃)(?:他)?(?:爸|妈|爹|娘)(?:早就?|都)(?:跑了|不要)(?!.{0,20}(?:带走|抱走|找不到|不见))"),
    # --- left without care or food --------------------------------------------------------
    _rule(NEGLECT, r"(?:几|两|三|四|五|好几|多|一两|两三)天(?:都|了)?(?:没|没有)(?:吃饭|饭吃|吃东西|人管|人回来|人照顾)|"
                   r"饿(?:了|着)?(?:好几|几|两|三|一两|两三)天|没(?:饭|东西)吃|饿得(?:不行|受不了|哭)|"
                   r"被(?:父母|爸妈|家长|大人|家里)?(?:扔|丢|遗弃|抛弃|赶)(?:下|在|出)|(?:被.{0,4}(?:锁|关)在|锁在)(?:家|屋|房间|厕所|车)里|"
                   r"(?:找不到|找不着)(?:大人|爸妈|家长)|(?:冻|饿)了一(?:晚上|夜|宿)|没人管.{0,6}哭|"
                   r"(?:爸妈|父母|家里大人|大人)(?:好几|几|两|三)天(?:都)?没回(?:家|来)|家里没(?:吃的|饭)了|"
                   r"一个人在家.{0,10}(?:没吃|没饭|饿|几天|好几天|没人)|"
                   r"饿得直哭|瘦得脱相|(?:扔|丢)在(?:出租屋|家里|屋里|路边)|大人都不在.{0,6}(?:饿|哭|几天)",
          r"(?:证|本|卡|手机)丢|没饭吃.{0,4}(?:的故事|电影)"),
    # --- violence with weapons, threats to kill ------------------------------------------
    _rule(ABUSE, r"(?:拿|举|持)着?(?:刀|菜刀|斧头|棍子|砖头|枪).{0,8}(?:砍|追|威胁|吓|要杀|对着|冲)|有人拿刀|"
                 r"拿刀(?:砍|捅|追|威胁|对着)|(?:砍|捅)(?:了|伤)?(?:孩子|娃|他|她|我)|要杀(?:了)?(?:孩子|他|她|我)|"
                 r"打死(?:孩子|他|她|我|你)|挟持|绑架|被绑|勒索.{0,4}(?:孩子|赎金)|(?:被|用).{0,4}(?:刀|剪刀)(?:捅|砍|刺)|捅了|"
                 rf"(?:现在|正在).{{0,6}}(?:打|砍|追|威胁)(?!{_HARMLESS_HIT})|有人(?:拿|带)着?(?:刀|枪)|"
                 r"(?:在|有人在).{0,6}(?:打|踢|揍)(?:孩子|小孩|一个小孩|娃)|打骂声|(?:哭声|尖叫).{0,8}(?:打|摔)|"
                 r"(?:皮带|棍子|衣架|鞭子|擀面杖|拖鞋|扫把|晾衣杆)(?:往死里)?(?:抽|打)(?:她|他|娃|孩子|我)|"
                 r"(?:抽|打)得(?:她|他|娃|孩子|我)?(?:身上|腿上|背上|脸上)?(?:全是|都是|一道道|一条条)|"
                 r"(?:头|脑袋)(?:往|朝)墙上?(?:撞|磕)|按在地上打|扇(?:她|他|孩子|娃|我)?(?:耳光|巴掌)|"
                 r"喝醉了?.{0,8}(?:打|抽|踢|掐)(?:她|他|娃|孩子|我)|不给(?:她|他|孩子|娃)?饭吃.{0,6}(?:打|关)",
          r"(?:怎么|如何)(?:预防|防止|处理)|万一|如果|打(?:疫苗|针|电话|游戏)|游戏里|电视剧|电影"),
    # --- medical emergencies and accidents (120; fire and rescue 119) ------------------------
    _rule(MEDICAL, r"被困|困在(?:电梯|火|水|屋|房|楼|车|河|井)|(?:着火|火灾).{0,10}(?:在里面|出不来|困住|被困|没出来)|"
                   r"(?:孩子|娃|人|小孩)(?:溺水了|落水了|掉(?:进|到)?(?:了)?(?:河|水|井|池塘|水库|湖|冰窟窿|粪坑)里?)|"
                   r"(?:洗衣液|消毒水|消毒液|农药|老鼠药|安眠药|降压药|漂白水|电池|洁厕灵|84)(?:给)?(?:喝|吃|吞)了|"
                   r"煤气中毒|一氧化碳|燃气泄漏|触电|电到了|被电(?:了|到)|"
                   r"(?:着火|著火)了.{0,6}(?:孩子|娃|人).{0,4}(?:还在|在)(?:屋|里|家)|"
                   r"(?:掉|摔|跌)(?:进|到|下)?(?:了)?(?:河|水|井|池塘|水库|湖|楼)(?:里|下|下来)|从.{0,6}(?:楼|阳台|窗户|楼梯|高处|床上掉下|屋顶).{0,6}(?:摔|掉|跌)|"
                   r"摔下来了?.{0,4}不动|不动了|没(?:有)?(?:呼吸|气了|心跳)|不喘气|"
                   r"被(?:车|汽车|电动车|摩托车|货车)(?:撞|轧|碾)|血流不止|流血不止|止不住(?:血)?|流了?(?:很多|好多|一地|满地)(?:的)?血|大出血|"
                   r"(?:误喝|误食|误吞|误服|吞了|吃了|喝了)(?:了)?.{0,6}(?:消毒水|农药|老鼠药|电池|纽扣电池|洗衣液|洗衣凝珠|漂白|药|药片|洁厕)|"
                   r"爬到(?:阳台|窗户|窗台|楼顶).{0,4}(?:外|上)|掉(?:下去|进.{0,4}(?:井|坑|下水道|冰窟窿|水里|河里))|"
                   r"(?:卡在|卡住了?).{0,10}(?:喘不|外面|窗|喉咙|嗓子)|(?:噎住|卡喉|卡住喉咙|鱼刺卡|果冻卡)|喘不上气|喘不过气|呼吸(?:困难|不上来)|"
                   r"(?:脸|嘴唇|嘴巴|嘴)(?:都|已经|全|有点)?(?:紫|青紫|发紫|发青|乌青)|"
                   r"翻白眼|口吐白沫|吐白沫|抽搐|抽风|抽过去|(?:烧|发烧|高烧).{0,8}(?:抽|抽筋|惊厥|说胡话|叫不醒)|惊厥|"
                   r"晕过去|晕倒|昏过去|昏迷|叫不醒|(?:喊|叫|拍)(?:他|她|娃|孩子)?(?:都|也)?(?:不应|没反应|没有反应|不答应)|没(?:有)?(?:反应|意识)了?|"
                   r"沉下去|没上来|压在(?:底下|下面)|咬得.{0,4}血|点着了|火很大|出不来|爬不上来|(?:栏杆|窗户|防盗窗)外面|"
                   r"(?:开水|热水|热油|滚水|汤)(?:浇|泼|洒|倒|烫)(?:到|在|了)?|烫(?:掉了?皮|起了?(?:大|好多)?泡|了一大片|得.{0,4}(?:起泡|脱皮|发白))|大面积烫伤|"
                   r"(?:喉咙|嗓子|脸|嘴)(?:都)?肿(?:了|得).{0,6}(?:喘|呼吸|说不出)|过敏.{0,8}(?:喘不|呼吸|休克)|休克|"
                   r"fell|not moving|not breathing|drown|on fire|\bfire\b|seizure|unconscious|choking",
          r"(?:怎么|如何)(?:逃生|预防|防止|急救|处理)|防溺水|(?:安全|急救)(?:知识|教育|课|讲座|培训)|演练|"
          r"万一|如果|应该先做|该怎么处理|急救方法|(?:能|可以)申请|救助金|补助|报销|医保|满打满算|会不会有危险|有没有危险|"
          r"被.{0,6}(?:题|问题|作业|数学)困|困在.{0,4}(?:题|问题)|打(?:疫苗|针|电话|游戏)|(?:手机|电脑|电视|网|游戏)(?:卡|没反应)|"
          r"(?:已经|早就|都)(?:好了|出院|没事)|住了.{0,4}院|出院"),
    # --- online exploitation --------------------------------------------------------------
    _rule(ONLINE, r"(?:要|让|逼|骗)(?:她|他|孩子|娃|我|女儿|儿子)?(?:拍|发|传)?(?:的)?(?:裸照|裸体|光身子|不穿衣服|隐私部位|下面|私密)(?:的)?(?:照片|视频|图)?|"
                  r"(?:网友|网上的人|游戏(?:里)?(?:的|认识的)?(?:人|网友|哥哥|叔叔|师傅|cp)|陌生人|QQ上|微信上|抖音上|快手上).{0,16}"
                  r"(?:要(?:她|他|孩子|我)?(?:的)?(?:照片|视频|裸)|(?:单独)?见面|视频聊天.{0,4}脱|发红包.{0,8}见|约(?:她|他|孩子|我)?出去)|"
                  r"(?:不给钱|不转钱|不听话)就?.{0,8}(?:发出去|公开|曝光|发到群|发给(?:你|她|他)?(?:同学|老师|家长))|"
                  r"(?:照片|视频)(?:威胁|要挟)|威胁.{0,8}(?:发出去|公开|曝光)|裸聊|sextort|nudes?",
          r"(?:怎么|如何)(?:教|防|预防|避免|跟孩子讲)|防(?:诈骗|网络|骗)|(?:安全|防范)(?:知识|教育|课|讲座)|新闻|万一|如果"),
    # --- someone calls for help, unspecified -------------------------------------------------
    _rule(DANGER, r"救命|救救|(?:快|来人)?救我|快来人|快报警|有危险|\bsos\b|jiu ?ming|help my (?:child|kid|son|daughter)|hurting my|(?:快|赶紧)救",
          r"(?:怎么|如何)(?:逃生|预防|防止|急救)|万一|如果|救命钱|救命稻草|笑|哈哈|游戏"),
)


# Talk about danger rather than danger now: news, TV, games, dreams, the past, the law in
# general, teaching children to stay safe, pets. Checked on a clause and the clause before it:
# "看新闻说，有个孩子被拐了" stays silent, a message's other clauses are still checked.
CONTEXT_GUARD = re.compile(
    # other people's stories: news, TV, films, games, short videos, hearsay
    r"新闻|电视剧?|视频里|(?:看|刷)了?(?:个|一个|条)视频|刷到|短视频|抖音上|快手上|综艺|纪录片|节目|电影|小说|"
    r"游戏里的?(?:角色|人物|剧情|怪|任务)|任务是|吃鸡|奥特曼|梦见|做梦|朋友圈(?:转|在转)|寻人启事|谣言|"
    r"听说(?:有|隔壁|别人)|听(?:工友|老乡|同事|邻居|朋友|别人|人家)(?:讲|说)|(?:工友|老乡|同事|邻居阿姨|朋友)(?:说|讲)(?:她|他)?|"
    r"群里(?:在)?(?:传|说)|别人家的?|"
    # the law, rules, prevention and teaching
    r"判几年|判多少|怎么判|量刑|什么罪|犯法|违法|法律|是啥意思|什么意思|制度|告诫书|保护令|举报人|"
    r"(?:怎么|如何)(?:教|防|预防|避免|提防|跟.{0,4}(?:讲|说)|设置)|教(?:孩子|娃)(?:防|怎么|记住)|防(?:欺凌|走失|拐|性侵|溺水|骗)|"
    r"演练|提前跟|万一|要是|假如|假设|"
    # denials: "从来没动过手"
    r"从来?没(?:有)?(?:动过手|动手|打过|碰过)|"
    # the past, resolved
    r"后来(?:找到|找回|送医|抢救|没事|好|被救|戒)|以前|小时候|去年|前年|上周|上礼拜|上个月|前几年|前两年|几年前|那时候|那年|那次|"
    r"那阵|当年|曾经|(?:过|了)(?:一次|一回|两次|几次)|[打拐摔伤丢咬烫溺骗抓撞]过(?![来去河马])|"
    r"已经(?:好了|没事|出院|处理完|判了|抓了|找到|拉黑|报了警)|(?:现在|早就?|都)(?:好了|好多了|没事了?|挺好|基本恢复|缓过来)|"
    r"(?:孩子|娃)(?:他)?(?:爸|妈|爹|娘)(?:跑了|不要)(?!.{0,20}(?:扔|丢下|饿|锁|没饭|没吃))|宠物|猫|狗狗|仓鼠"
)
# A clause that says the danger is here now overrides the guard of its context: a guard never
# silences a present danger to the parent's own child ("去年走丢过一次，现在又找不到了").
PRESENT = re.compile(r"现在(?!(?:好|没事|挺好|基本|已经|都好|想|要|怎么))|刚才|刚刚|正在|今天|今晚|今早|这会儿?|此刻|还在|"
                     r"又(?!(?:有点|是|要|想))|一直|到现在|快来|救命|赶紧|马上|怎么办啊|咋办啊|咋整啊|求求")


# Everyday exaggeration: 气死了, 累得要死, 要了我的命, 手机卡死. Not a danger pattern; the
# interpreter asks the classifier for more certainty before calling such a message an emergency.
FIGURATIVE = re.compile(
    r"(?:气|笑|累|热|冷|忙|烦|困|吵|急|痒|疼|馋|懒|愁|吓|紧张|心疼|伤心|丑|难吃|闷|无聊)死|"
    r"得要死|要死了|要了.{0,3}(?:命|老命)|死机|卡死|压死|烦得|气得"
)


def figurative(text: str) -> bool:
    return bool(FIGURATIVE.search(text))


# A bare reference to a person, a time or a count, with nothing happening: the answer to a form's
# question ("妈妈", "我是他爸", "女儿", "女", "晚上", "一个人"). No event, no danger: neither classifier
# may call it one (a character model has seen 女儿 and 他爸 mostly in emergencies).
_PERSON = (r"(?:亲|继|后)?(?:妈妈?|爸爸?|娘|爹|母亲|父亲|奶奶|爷爷|外婆|外公|姥姥|姥爷|婆婆|公公|姑姑?|姨|阿姨|舅舅?|"
           r"叔叔?|伯伯?|哥哥?|姐姐?|弟弟?|妹妹?|儿子|女儿|闺女|孩子|小孩|娃娃?|男孩|女孩|男娃|女娃|男的|女的|男|女|"
           r"继父|继母|监护人|老师|班主任|邻居|亲戚|房东|老乡|本人|自己|孙子|孙女|外孙女?|丈夫|老公|老婆|妻子)")
BARE_REFERENCE = re.compile(
    rf"^(?:我|俺|他|她|孩子|娃|我们|俺们)?(?:是|的)?(?:孩子|娃|他|她)?(?:的)?{_PERSON}?{_PERSON}"
    r"(?:啊|呀|吧|呢|的|嘛|哈)?$|"
    r"^(?:早上|上午|中午|下午|晚上|白天|夜里|半夜|周末|平时|一个人|两个人|三个人|没有|有)(?:啊|呀|吧|的)?$"
)


def bare_reference(text: str) -> bool:
    """True when the whole message only names a person, a time or a count ("我是他妈", "女儿")."""
    return bool(BARE_REFERENCE.match(re.sub(r"[\W_]+", "", text)))


# Everyday illness: a fever, a cough, a scraped knee. Not an emergency unless the message also
# says something severe; like exaggeration, the classifier alone needs more certainty here.
MILD = re.compile(r"发烧|发热|低烧|咳嗽|感冒|拉肚子|流鼻涕|鼻塞|嗓子疼|擦破|蚊子|虫子咬|起疹子|湿疹|长痘|牙疼|肚子疼")
SEVERE = re.compile(r"抽|昏|晕|叫不醒|不醒|不动|呼吸|喘不|血|紫|翻白眼|惊厥|吐白沫|4\d(?:\.\d)?度|四十|没反应|说胡话")


def mild_illness(text: str) -> bool:
    return bool(MILD.search(text)) and not SEVERE.search(text)


@dataclass(frozen=True)
class SafetyHit:
    kinds: tuple[str, ...]
    matches: tuple[str, ...]
    spans: tuple[tuple[int, int], ...] = ()  # where in the text the danger was found


def check(text: str) -> SafetyHit | None:
    """Which kinds of danger the (normalised, lower-cased) text names, clause by clause, or None."""
    kinds: list[str] = []
    matches: list[str] = []
    spans: list[tuple[int, int]] = []
    pieces = clauses.split(text)
    for index, piece in enumerate(pieces):
        context = (pieces[index - 1].text + " " if index else "") + piece.text
        candidates = [piece]
        if index + 1 < len(pieces):  # a danger spread over two fragments: "娃三天了 没人管"
            candidates.append(clauses.Clause(piece.text + " " + pieces[index + 1].text, piece.start,
                                             pieces[index + 1].end))
        for candidate in candidates:
            found = _rule_hits(candidate.text, context)
            for kind, match in found:
                if kind not in kinds:
                    kinds.append(kind)
                matches.append(match)
            if found:
                spans.append((candidate.start, candidate.end))
                break
    return SafetyHit(tuple(kinds), tuple(matches), tuple(spans)) if kinds else None


# A denial or a correction: the clause says the dangerous thing did not happen ("娃没丢", "不是被人带走
#的", "没人欺负她", "那个叔叔不是陌生人"). A negation right before a danger *event* (lost, taken, hit,
# touched, swallowed, fell, poisoned...), with at most a passive marker and a person between them.
# Negated *states* are dangers themselves and are not here: 没人管, 没饭吃, 没回来, 没反应, 没气.
# Checked on the clause alone (not its context): "不是发烧 是叫不醒" keeps its second clause.
DENIAL = re.compile(
    r"(?:不是|并不是|并非|根本没有?|从来?没有?|并没有?|也没有?|没有?人|没有?)"
    r"(?:被|让|给|把|说)?(?:人|他|她|谁|我|俺|娃|孩子|娃儿|我们|俺们|他们|老师|陌生人|车|狗)?(?:被|给|要|想|在)?"
    r"(?:走丢|走失|丢|不见|拐|带走|抱走|拉走|接走|打(?![通电车工针疫游扫字分算听])|揍|踢|掐|欺负|虐待|摸|碰|猥亵|性侵|侵犯|害|撞|咬|"
    r"中毒|吃(?:了)?药|喝(?:了)?(?:药|农药)|吞|掉(?:下|进|楼)|摔|烫|溺水|淹|抽风|抽搐|惊厥|晕|昏|"
    r"想死|说想死|自杀|寻死|跳(?:楼|河|下)|锁|关(?:在|起)|骗|离家出走|陌生人|进(?:屋|家|房))"
)
# A correction of what was said before: 误会, 搞错了, 看错了, 打错字了, 虚惊一场. Like the
# context guards, checked on the clause and the one before it.
CORRECTION = re.compile(r"误会|搞错|弄错|看错|听错|看岔|听岔|说错|打错|虚惊一场|想多了|一场乌龙|是开玩笑")


def guarded(clause: str, context: str) -> bool:
    """Talk about danger (news, the past, the law...), a denial or a correction, rather than a
    danger now."""
    talk = CONTEXT_GUARD.search(context) or CORRECTION.search(context) or DENIAL.search(clause)
    return bool(talk) and not PRESENT.search(clause)


def _rule_hits(clause: str, context: str) -> list[tuple[str, str]]:
    if guarded(clause, context):
        return []
    hits = []
    for rule in RULES:
        match = rule.pattern.search(clause)
        if match and not (rule.guard and rule.guard.search(clause)):
            hits.append((rule.kind, match.group()))
    return hits


# What the message itself says was only believed, or is not so: "以为孩子丢了 原来在同学家" (the
# child was not lost), "不是被打的 是摔的" (not hit: fell). The danger named there is not a danger
# now; what the message says instead is read as usual, and may be one: "以为在午睡 怎么摇都摇不醒",
# "不是摔的 是被他后爸打的". A belief runs from 以为 to a word that reveals what was found (原来,
# 结果, 其实...) or to the end of its clause; a correction from a clause-opening 不是 to the 是 that
# follows it (in that clause or the next). Not a correction: 不是第一次 (it happened before), 不是亲生的.
_BELIEF = re.compile(r"(?<![别你莫])(?:以为|当是|当成)")
_REVEAL = re.compile(r"原来|结果|其实|才发现|才知道|后来|发现|一看|问了|问清|没想到|谁知|但是|可是|却|不过")
_CORRECTION_OPEN = re.compile(r"(?:^|(?<=[\s，,。！？!?；;：:]))(?:(?:孩子|娃儿?|他|她|我|俺)(?:的)?)?(?:并)?不是"
                              r"(?!第一|头一|一次|一回|一两|亲生|亲的|故意|很|太|特别|没|不|说|要|想|怕|这样|那样|我|你)")
_CORRECTION_THEN = re.compile(r"(?:而|其实|只|就|都)?是")
CORRECTION_REACH = 24  # the 是 of "不是X 是Y": at most this many characters on, across one break at most
_SENTENCE_END = re.compile(r"[。！？!?]")
_CLAUSE_BREAK = re.compile(r"[\s，,；;：:]+")


def believed_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` (normalised, lower-cased) names only what was believed or is not so, with
    the words that say so (以为…; 不是… 是), so that what is left reads as a plain statement."""
    spans = []
    for piece in clauses.split(text):
        for match in _BELIEF.finditer(piece.text):
            start = piece.start + match.start()
            reveal = _REVEAL.search(text, start, piece.end)
            end = reveal.start() if reveal else piece.end
            if end > start:
                spans.append((start, end))
    for match in _CORRECTION_OPEN.finditer(text):
        then = _CORRECTION_THEN.search(text, match.end() + 1, match.end() + 1 + CORRECTION_REACH)
        if then is None:
            continue
        between = text[match.end():then.start()]
        if not _SENTENCE_END.search(between) and len(_CLAUSE_BREAK.findall(between)) <= 1:
            spans.append((text.find("不是", match.start()), then.end()))
    return spans


def without_beliefs(text: str) -> str:
    """``text`` with what it names only as believed, or as not so, blanked out (same length, so
    offsets still point into the message)."""
    chars = list(text)
    for start, end in believed_spans(text):
        chars[start:end] = " " * (end - start)
    return "".join(chars)


# After an emergency, the parent's word that it is over: the child is found or home, is safe, it
# was a mistake, no need to call the police ("找到了 在同学家", "不用报警了 孩子回来了", "虚惊一场").
# Never a reason to close the urgent record (the words could be anyone's, or wrong): the record
# stays open and staff see the parent's word on it. A found-but ("找到了 但是满身是伤"), a not-yet
# ("还没找到", "没回来") or anything the safety net reads as a danger is no all-clear.
_NOT_YET = r"(?<![没未不])(?<!没有)"
_MISTAKE_MORE = r"乌龙|开玩笑|虚惊"  # CORRECTION's words, read more widely when the parent takes a danger back
ALL_CLEAR = re.compile(
    rf"{_NOT_YET}(?:找到|找着|找见|找回|寻到)(?:了|啦|人了)|{_NOT_YET}(?:回来|回家|到家|接到|接回来|回到家)(?:了|啦)|"
    r"原来(?:是)?(?:在|去|跟|和)|(?:已经|总算|终于)?(?:没事|没啥事|没什么事|平安|安全)(?:了|啦)|平平安安|"
    rf"{_NOT_YET}(?:醒|退烧|缓过来|脱离危险)(?:了|啦)|"
    r"(?:不用|不需要|别|先不|暂时不)(?:再)?(?:报警|打110|打120|叫救护车|麻烦|管了|处理了|担心了|紧急)|"
    rf"{CORRECTION.pattern}|{_MISTAKE_MORE}"
)
_BUT = re.compile(r"但是?|可是|不过|却|只是|又|还是没|仍然|依然")
# ...or that it is not over: still missing, or the all-clear itself denied ("不是误会", "不是开玩笑")
_NOT_OVER = re.compile(rf"还没|没找到|没找着|没回来|不见了|没去|不是.{{0,6}}(?:{CORRECTION.pattern}|{_MISTAKE_MORE})|"
                       r"以为(?:的)?(?:找到|回来|没事)|(?:刚才|之前|先前|早上|上午|中午|下午)说(?:的)?(?:找到|回来|没事)|"
                       r"伤|疼|痛|肿|吐")  # hurt: not for us to call it over


def all_clear(text: str) -> bool:
    """Whether ``text`` (normalised, lower-cased) tells that an earlier danger is over or was no
    danger, and says nothing that turns it round: no but, no not-yet, and nothing the pattern
    layer reads as a danger ("找到了 他后爸还在打他", "找着了 摔沟里了 叫不应")."""
    return (bool(ALL_CLEAR.search(text)) and not _BUT.search(text) and not _NOT_OVER.search(text)
            and not SEVERE.search(text) and check(text) is None)
