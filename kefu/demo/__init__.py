"""kefu/demo"""
