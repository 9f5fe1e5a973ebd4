"""agents/nlu"""
