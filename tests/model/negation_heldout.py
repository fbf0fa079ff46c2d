"""Negation cases written for the unlabelled-data model work and never used to choose anything.

The behavioural suite's negation cases had been looked at while earlier models were chosen; these
were written afterwards, before any model scored them, to measure negation on text no choice was
made on. Half flip a positive word, half a negative one; the labels are what any reader would say.

    python -m tests.model.behaviour_suite --suite heldout [--version N]
"""

from __future__ import annotations

from tests.model.behaviour_suite import NEG, POS, Case, Item

HELDOUT: dict[str, list[Item]] = {
    "negation (held out)": [
        # a negated positive word -> negative
        Case("The plot was not interesting in the slightest.", NEG),
        Case("Sadly, the jokes were never funny.", NEG),
        Case("I would not call this entertaining.", NEG),
        Case("Nothing about this film worked for me.", NEG),
        Case("The dialogue isn't clever, it's just loud.", NEG),
        Case("Not once did I care about any of the characters.", NEG),
        Case("This sequel is nowhere near as good as the original.", NEG),
        Case("The cast tries hard, but the result is not enjoyable.", NEG),
        Case("No amount of special effects can save this script.", NEG),
        Case("I wouldn't recommend it to anyone.", NEG),
        Case("It never becomes the thriller it wants to be.", NEG),
        Case("The ending didn't make any sense and wasn't satisfying.", NEG),
        # a negated negative word -> positive
        Case("Not bad at all.", POS),
        Case("The movie is never dull, and the leads are wonderful together.", POS),
        Case("I have no complaints; it was a delight from start to finish.", POS),
        Case("It doesn't disappoint: a moving, beautifully shot story.", POS),
        Case("There wasn't a single scene I didn't enjoy.", POS),
        Case("You won't regret watching this one.", POS),
        Case("Far from boring, it kept me on the edge of my seat.", POS),
        Case("Nobody in the cast gives a weak performance.", POS),
        Case("I couldn't stop smiling the whole time.", POS),
        Case("Not a wasted minute in this tight, clever thriller.", POS),
        Case("The film never feels too long, even at three hours.", POS),
        Case("I can't say enough good things about this movie.", POS),
    ],
}
