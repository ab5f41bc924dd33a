// Reduced motion, one source for every view: the system's `prefers-reduced-motion` (followed as
// it changes, not read once) unless the learner chose otherwise with the page's toggle
// (remembered in localStorage). When it is on, the lab root carries data-motion="reduce" (the
// stylesheet drops transitions and travelling packets), the worker moves time in beats (one
// input per beat in the past, TIMELINE.MOTION), scrolling jumps. Motion goes, information stays.
//
//   reducedMotion.matches          whether motion is reduced now
//   reducedMotion.choice           'system' | 'reduce' | 'full'
//   reducedMotion.choose(choice)   the page toggle
//   reducedMotion.addEventListener('change', fn)

const STORE = 'aof-lab:motion';

class ReducedMotion extends EventTarget {
  constructor() {
    super();
    this.system = typeof matchMedia === 'function' ? matchMedia('(prefers-reduced-motion: reduce)') : null;
    this.system?.addEventListener('change', () => this.changed());
    try {
      this.choice = localStorage.getItem(STORE) ?? 'system';
    } catch {
      this.choice = 'system'; // storage blocked
    }
    this.last = this.matches;
  }

  get matches() {
    if (this.choice === 'reduce') return true;
    if (this.choice === 'full') return false;
    return !!this.system?.matches;
  }

  choose(choice) {
    this.choice = choice === 'reduce' || choice === 'full' ? choice : 'system';
    try {
      if (this.choice === 'system') localStorage.removeItem(STORE);
      else localStorage.setItem(STORE, this.choice);
    } catch {
      // the choice lasts for this page only
    }
    this.changed();
  }

  changed() {
    const now = this.matches;
    if (now === this.last) return;
    this.last = now;
    this.dispatchEvent(new Event('change'));
  }

  /** How a view scrolls something into view. */
  get behavior() {
    return this.matches ? 'auto' : 'smooth';
  }
}

export const reducedMotion = new ReducedMotion();
