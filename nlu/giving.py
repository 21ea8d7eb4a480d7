"""Someone who offers to give, not to receive.

The plan (三、（九）; 五、（十六）) encourages people, companies and organisations to donate, set up
projects and volunteer for migrant children. Such a message ("我们老板想搞个项目帮工人的娃 行不行",
"我想给流动娃捐点书 咋捐", "我周末有空 想去当志愿者") is about charity whatever else it names — a
factory's workers are no question about a parent's job, a volunteer's city no question about
urban integration.
"""

from __future__ import annotations

import re

# whom a gift of things goes to: children not the giver's own ("给流动娃送点衣服", not "给娃送点衣服去老家")
_RECIPIENTS = r"(?:流动|外地|工人|困难|贫困|留守|别人家|这些|那些|山区|孤儿)"
# between the wish and the gift, no question of paying ("我想问问娃上幼儿园要出钱不", "学校要求家长捐钱")
_GAP = r"(?:(?!问|知道|打听|要求|让|交|收|学校)[^，。\s])"
_GIVER = re.compile(
    rf"(?:我|俺|咱|老板|企业|公司|单位|厂里?|社团|协会){_GAP}{{0,8}}(?:想|打算|准备){_GAP}{{0,12}}"
    rf"(?:捐(?!款箱)|出钱|赞助|(?:设|搞|办|弄)(?:个|一个)?[^，。\s]{{0,10}}项目|献爱心|{_RECIPIENTS}[^，。\s]{{0,6}}送(?:点|些))|"
    # volunteering offered or asked about ("想去当志愿者", "怎么当志愿者"), not a volunteer saying who
    # they are ("我是在社区做志愿者的，听说有书信陪伴的服务 是谁在搞") nor one told to ("学校要孩子当志愿者")
    rf"(?:想|打算|准备|报名|能不能|可不可以|咋|怎么|如何){_GAP}{{0,10}}(?:当|做)(?:个)?(?:志愿者|义工)")


def offers_to_give(text: str | None) -> bool:
    """Whether ``text`` offers a donation, a project or volunteering for children."""
    return bool(_GIVER.search(text or ""))
