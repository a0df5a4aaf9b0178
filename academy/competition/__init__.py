"""Annual skills competition (村级代办员操作技能大比武): rounds, anonymous candidates, judge
assignment, rubric marking, aggregation, lock, appeals, results and rater analysis."""
