package config

// node is a keyword with its arguments and, for a block, its children.
type node struct {
	name     token
	args     []token
	children []*node
	block    bool
	end      Pos // position of the closing brace
}

// argStrings returns the argument texts.
func (n *node) argStrings() []string {
	out := make([]string, len(n.args))
	for i, a := range n.args {
		out[i] = a.text
	}
	return out
}

// buildTree turns preprocessed lines into a tree. A '{' starts a block for
// the statement before it (on the same line or the previous one); a '}'
// ends the innermost block.
func buildTree(lines [][]token, p *pre) []*node {
	root := &node{block: true}
	stack := []*node{root}
	var last *node // last statement of the current block, may take a '{'
	var slab []node
	newNode := func(t token) *node {
		if len(slab) == cap(slab) {
			slab = make([]node, 0, 256)
		}
		slab = append(slab, node{name: t})
		return &slab[len(slab)-1]
	}
	for _, line := range lines {
		var cur *node
		for k := 0; k < len(line); k++ {
			t := line[k]
			top := stack[len(stack)-1]
			switch t.brace {
			case '{':
				target := cur
				if target == nil {
					target = last
				}
				if target == nil || target.block {
					p.problemf(UnexpectedBrace, t.pos, "unexpected '{', expected a keyword before it")
					// keep the structure balanced with an anonymous block
					target = newNode(token{text: "{", pos: t.pos})
					top.children = append(top.children, target)
				}
				target.block = true
				stack = append(stack, target)
				cur, last = nil, nil
			case '}':
				if len(stack) == 1 {
					p.problemf(UnexpectedBrace, t.pos, "unexpected '}', no block is open")
					continue
				}
				top.end = t.pos
				stack = stack[:len(stack)-1]
				last = top
				cur = nil
			default:
				// a statement: the keyword and the words up to a brace
				cur = newNode(t)
				top.children = append(top.children, cur)
				last = cur
				end := k + 1
				for end < len(line) && line[end].brace == 0 {
					end++
				}
				if end > k+1 {
					cur.args = line[k+1 : end : end]
				}
				k = end - 1
			}
		}
	}
	for len(stack) > 1 {
		top := stack[len(stack)-1]
		p.problemf(UnclosedBlock, top.name.pos, "block %q is not closed, expected '}'", top.name.text)
		stack = stack[:len(stack)-1]
	}
	return root.children
}
