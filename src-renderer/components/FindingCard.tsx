import type { ReactNode, Ref } from 'react';

/** A selected finding opened below (or beside) its list: its severity and title, Close, and what the view shows of it. */
export function FindingCard(props: {
  severity: string;
  title: string;
  onClose: () => void;
  testId: string;
  label: string;
  cardRef?: Ref<HTMLDivElement>;
  children: ReactNode;
}) {
  return (
    <div className="card evidence" data-testid={props.testId} aria-label={props.label} ref={props.cardRef}>
      <div className="row between">
        <strong>
          <span className={`sev ${props.severity}`}>{props.severity}</span> {props.title}
        </strong>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      {props.children}
    </div>
  );
}
